package hugepages

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

func TestBracketed(t *testing.T) {
	for in, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never":   "always",
		"always madvise [never]":   "never",
		"":                         "",
		"always madvise never":     "",
		"[always":                  "",
	} {
		if got := bracketed(in); got != want {
			t.Errorf("bracketed(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWantedHonoursTheSwitch(t *testing.T) {
	for _, v := range []string{"off", "0", "never"} {
		t.Setenv(DisableEnv, v)
		if Wanted() {
			t.Errorf("%s=%s: Wanted() = true", DisableEnv, v)
		}
		if n, err := PrepareHeap(8 << 20); n != 0 || err != nil {
			t.Errorf("%s=%s: PrepareHeap = %d, %v; want 0, nil", DisableEnv, v, n, err)
		}
	}
}

// needMadvise skips where the kernel would not use the advice.
func needMadvise(t *testing.T) uintptr {
	t.Helper()
	if m := Mode(); m != "madvise" {
		t.Skipf("transparent huge pages are %q here, not \"madvise\"", m)
	}
	huge := PageSize()
	if huge == 0 {
		t.Skip("no huge page size in sysfs")
	}
	return huge
}

// vmas reads /proc/self/smaps: each mapping's range and VmFlags.
func vmas(t *testing.T) []vma {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vma
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := rangeOf(line); ok {
			out = append(out, vma{lo: lo, hi: hi})
			continue
		}
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && len(out) > 0 {
			out[len(out)-1].flags = strings.Fields(flags)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type vma struct {
	lo, hi uintptr
	flags  []string
}

func (v vma) has(flag string) bool {
	for _, f := range v.flags {
		if f == flag {
			return true
		}
	}
	return false
}

func rangeOf(line string) (uintptr, uintptr, bool) {
	r, _, ok := strings.Cut(line, " ")
	if !ok {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(r, "-")
	if !ok {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uintptr(lo), uintptr(hi), true
}

// The advised range is marked for huge pages ("hg" in VmFlags), it is heap
// the process allocates from next, and the heap goal is not raised by the
// block that prepared it.
func TestPrepareHeapAdvisesTheNextHeap(t *testing.T) {
	huge := needMadvise(t)
	goalBefore := heapGoal()
	n, err := prepare(32<<20, huge)
	if err != nil {
		t.Fatal(err)
	}
	if n < 28<<20 || n%int(huge) != 0 {
		t.Fatalf("advised %d bytes, want a multiple of %d of at least 28 MiB", n, huge)
	}
	if goal := heapGoal(); goal > goalBefore+(8<<20) {
		t.Errorf("heap goal %d after preparing, %d before: the block's collection did not bring it back", goal, goalBefore)
	}
	var advised []vma
	for _, v := range vmas(t) {
		if v.has("hg") {
			advised = append(advised, v)
		}
	}
	if len(advised) == 0 {
		t.Fatal("no mapping is advised for huge pages after PrepareHeap")
	}
	// Fresh allocations land in the advised range.
	landed := 0
	keep := make([][]byte, 0, 64)
	for range 64 {
		b := make([]byte, 256<<10)
		keep = append(keep, b)
		p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		for _, v := range advised {
			if p >= v.lo && p < v.hi {
				landed++
				break
			}
		}
	}
	runtime.KeepAlive(keep)
	if landed < 32 {
		t.Errorf("%d of 64 fresh 256 KiB allocations landed in the advised heap %v, want most", landed, advised)
	}
}

func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// What the advice is for: a process touching fresh heap takes a fraction
// of the page faults. Each side runs in a fresh process (a heap already
// touched would hide the difference): this test binary again, with
// faultChildEnv set.
func TestPrepareHeapCutsFirstTouchFaults(t *testing.T) {
	needMadvise(t)
	if raceEnabled {
		// Every heap write also writes the race detector's shadow memory,
		// which is not advised: its faults would drown the heap's.
		t.Skip("race detector: shadow memory faults")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	faults := func(env string) int64 {
		cmd := exec.Command(exe, "-test.run=^TestFaultChild$")
		cmd.Env = append(os.Environ(), faultChildEnv+"=1", env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "faults "); ok {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
		t.Fatalf("child said no faults:\n%s", out)
		return 0
	}
	plain := faults(DisableEnv + "=off")
	fallbacks := thpFallbacks()
	advised := faults(DisableEnv + "=")
	t.Logf("minor faults touching 48 MiB of fresh heap: %d plain, %d advised", plain, advised)
	if plain < 8000 {
		t.Fatalf("plain child took %d faults for 48 MiB: the measure is off", plain)
	}
	if advised*4 > plain && thpFallbacks() > fallbacks {
		// The advice was taken, but the kernel had no free huge page (its
		// memory fragmented, or under pressure) and fell back to small ones.
		t.Skipf("the kernel fell back to small pages (thp_fault_fallback grew): %d faults advised", advised)
	}
	if advised*4 > plain {
		t.Errorf("advised child took %d faults, plain %d: want under a quarter", advised, plain)
	}
}

const faultChildEnv = "TOMSCAN_HUGEPAGES_FAULT_CHILD"

// thpFallbacks is the kernel's count of huge page faults it served with
// small pages instead (/proc/vmstat thp_fault_fallback), -1 when unknown.
func thpFallbacks() int64 {
	b, err := os.ReadFile("/proc/vmstat")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "thp_fault_fallback "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// TestFaultChild is the child of TestPrepareHeapCutsFirstTouchFaults: it
// prepares the heap (unless told off), then allocates 48 MiB in 1 MiB
// blocks, touches every page and prints its minor faults for that.
func TestFaultChild(t *testing.T) {
	if os.Getenv(faultChildEnv) == "" {
		t.Skip("child of TestPrepareHeapCutsFirstTouchFaults")
	}
	if _, err := PrepareHeap(HeapBytes); err != nil {
		t.Fatal(err)
	}
	before := minorFaults()
	keep := make([][]byte, 0, 48)
	for range 48 {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		keep = append(keep, b)
	}
	runtime.KeepAlive(keep)
	fmt.Printf("faults %d\n", minorFaults()-before)
}

func minorFaults() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Minflt
}
