// Package hugepages asks the kernel to back the first stretch of a
// process's Go heap with transparent huge pages.
//
// Why: a tomscan process is short-lived and touches its heap for the first
// time all through its run (a worker's read buffers and decoded entries, a
// parent's index rows), and the first touch of each 4 KiB page is a page
// fault. On a virtual machine a fault is dear: 11-12 µs on the project
// machine, where a rules-only rescan took 15,000 of them (about a fifth of
// its CPU). A range advised with MADV_HUGEPAGE is faulted in 2 MiB at a time
// (64 MiB touched: 190 ms in 4 KiB pages; in huge ones 4 ms, or 58 ms where
// the host had not backed that memory yet; measured).
// Debian's default mode, "madvise", gives huge pages only to ranges that
// ask, and Go's runtime no longer asks for its heap (Go 1.21.1 and later).
//
// How: PrepareHeap allocates one large block, which makes the runtime map
// that much heap at once, advises the block's aligned middle and drops it,
// the collector off meanwhile so that the heap goal is what it was (a
// collection with the block live would have doubled it). The runtime hands
// out free heap pages lowest address first, so the process's allocations
// fill the advised range next. Nothing is touched here: the advice costs no memory
// until a page is used, and then the 2 MiB around it.
package hugepages

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DisableEnv names the environment variable that turns the advice off
// (TOMSCAN_THP=off): for hosts where huge pages are not wanted, such as one
// whose memory is so fragmented that the kernel stalls to compact it.
const DisableEnv = "TOMSCAN_THP"

// HeapBytes is how much Go heap a tomscan process prepares. Three times as
// much made no difference on the synthetic corpus (first scans and rescans,
// measured), and a huge page once touched is resident whole.
const HeapBytes = 64 << 20

const sysfs = "/sys/kernel/mm/transparent_hugepage/"

// Mode is the kernel's transparent huge page mode ("always", "madvise",
// "never"), "" when the kernel does not say.
func Mode() string {
	b, err := os.ReadFile(sysfs + "enabled")
	if err != nil {
		return ""
	}
	return bracketed(string(b))
}

// bracketed picks the selected word of a sysfs choice ("always [madvise] never").
func bracketed(s string) string {
	_, after, ok := strings.Cut(s, "[")
	if !ok {
		return ""
	}
	word, _, ok := strings.Cut(after, "]")
	if !ok {
		return ""
	}
	return word
}

// PageSize is the kernel's huge page size (2 MiB on x86-64), 0 when unknown.
func PageSize() uintptr {
	b, err := os.ReadFile(sysfs + "hpage_pmd_size")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n == 0 || n&(n-1) != 0 {
		return 0
	}
	return uintptr(n)
}

// Wanted tells whether advising helps here: the kernel's mode is "madvise"
// (with "always" every range gets huge pages unasked, with "never" none
// does) and the user did not turn it off.
func Wanted() bool {
	return !Disabled() && Mode() == "madvise"
}

// Disabled tells whether the user turned huge pages off (DisableEnv).
func Disabled() bool {
	v := os.Getenv(DisableEnv)
	return v == "off" || v == "0" || v == "never"
}

// PrepareHeap maps n bytes of Go heap and advises them, when Wanted; it
// returns the bytes advised (a multiple of the huge page size, less than n),
// 0 when it did nothing. Call it first thing in main, once: the heap it
// prepares is the next the process allocates from (a second call's block
// would take the first one's pages, which the runtime then zeroes: 108 ms
// for 64 MiB in a test that did so). The error is the kernel's
// refusal of the advice, which leaves the heap as it would have been.
func PrepareHeap(n int) (int, error) {
	if !Wanted() || n <= 0 {
		return 0, nil
	}
	return prepare(n, PageSize())
}

func prepare(n int, huge uintptr) (int, error) {
	if huge == 0 {
		return 0, nil
	}
	// No collection while the block is live: one started with it would
	// set the next heap goal at twice its size.
	gcPercent := debug.SetGCPercent(-1)
	b := make([]byte, n)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := (p + huge - 1) &^ (huge - 1)
	end := (p + uintptr(n)) &^ (huge - 1)
	advised := 0
	var err error
	if end > start {
		if err = unix.Madvise(b[start-p:end-p], unix.MADV_HUGEPAGE); err == nil {
			advised = int(end - start)
		}
	}
	runtime.KeepAlive(b)
	b = nil
	debug.SetGCPercent(gcPercent)
	if err != nil {
		return 0, fmt.Errorf("hugepages: madvise %d bytes of heap: %w", end-start, err)
	}
	return advised, nil
}
