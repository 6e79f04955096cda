package rules

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tomscan/tomscan/internal/hugepages"
)

// compileFaultsEnv makes this test binary the child of
// TestCompilerHeapIsPrepared: it compiles the shipped pack once and prints
// the process's page faults.
const compileFaultsEnv = "TOMSCAN_TEST_COMPILE_FAULTS"

// TestCompilerHeapIsPrepared compiles the shipped pack in two fresh
// processes, one with the compiler's heap prepared and one with
// TOMSCAN_THP=off, and compares the page faults of the compiling thread:
// the prepared compile, preparing included, must take under half of them
// (measured: 750 against 2,600; the compile alone 5).
func TestCompilerHeapIsPrepared(t *testing.T) {
	if os.Getenv(compileFaultsEnv) == "1" {
		printCompileFaults()
		return
	}
	if testing.Short() {
		t.Skip("two child processes")
	}
	faults := func(env ...string) (prepared bool, n int64) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCompilerHeapIsPrepared$", "-test.count=1")
		cmd.Env = append(append(os.Environ(), compileFaultsEnv+"=1"), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(line, "compile: "); ok {
				var p string
				if _, err := fmt.Sscan(rest, &p, &n); err != nil {
					t.Fatalf("child line %q: %v", line, err)
				}
				return p == "prepared", n
			}
		}
		t.Fatalf("child printed no faults:\n%s", out)
		return false, 0
	}
	offPrepared, off := faults(hugepages.DisableEnv + "=off")
	onPrepared, on := faults(hugepages.DisableEnv + "=")
	t.Logf("page faults of the compile: %d unprepared, %d prepared", off, on)
	if offPrepared || !onPrepared {
		t.Fatalf("prepared with %s=off: %v; without: %v", hugepages.DisableEnv, offPrepared, onPrepared)
	}
	if off < 1000 {
		t.Skipf("an unprepared compile took %d page faults here: nothing to compare", off)
	}
	if on*2 > off {
		t.Fatalf("the prepared compile took %d page faults, the unprepared one %d: want under half", on, off)
	}
}

// printCompileFaults compiles the shipped pack through Compile, as a scan
// does, and prints whether the process prepared the compiler's heap and
// the process's page faults during Compile (the preparing included).
func printCompileFaults() {
	srcs, err := Builtin()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	var before, after unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &before); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	set, err := Compile(context.Background(), srcs)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if err := unix.Getrusage(unix.RUSAGE_SELF, &after); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	set.rules.Destroy()
	prepared := "unprepared"
	if compilerHeapPrepared {
		prepared = "prepared"
	}
	fmt.Println("compile:", prepared, strconv.FormatInt(after.Minflt-before.Minflt, 10))
}
