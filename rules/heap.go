package rules

/*
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

// tomscan_prepare_compiler_heap: see prepareCompilerHeap. 0 on success, or
// which step failed.
static int tomscan_prepare_compiler_heap(size_t n, size_t huge) {
	// A malloc of n, and every allocation of a compile, from the heap
	// rather than mmap (whose fresh pages fault again), and the heap kept
	// once freed rather than given back (the default trims past 128 KiB).
	if (!mallopt(M_MMAP_THRESHOLD, (int)(2 * n)) || !mallopt(M_TRIM_THRESHOLD, (int)(4 * n))) {
		return 1;
	}
	char *p = malloc(n);
	if (p == NULL) {
		return 2;
	}
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	if (huge > 0) {
		uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
		uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);
		if (end > start) {
			madvise((void *)start, end - start, MADV_HUGEPAGE); // a hint: refused, the pages are small
		}
	}
	uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)p + n) & ~(page - 1);
	// One call maps every page (Linux 5.14 and later); before that, one
	// write per page, which faults in a huge page at its first.
	if (end > start && madvise((void *)start, end - start, MADV_POPULATE_WRITE) != 0) {
		for (uintptr_t a = start; a < end; a += page) {
			*(volatile char *)a = 0;
		}
	}
	free(p);
	return 0;
}
*/
import "C"

import (
	"sync"

	"github.com/tomscan/tomscan/internal/hugepages"
)

// Why: libyara's compiler zeroes a fresh 1 MiB buffer for each section of
// its arena and a few tables besides (9.7 MB for the shipped pack), and it
// gets them from glibc's malloc, which maps blocks that large anew each
// time. Their first touch is a page fault per 4 KiB, 2,400 of them: on the
// project's virtual machine (11-12 µs a fault) 27-30 ms of a 30 ms compile,
// in the scan's parent, at its start, where a rules-only rescan waits for
// it. Mapped in one call and in huge pages beforehand, the same compile
// takes 1.5-3 ms and the preparing 1.3-1.7 ms (measured in C against the
// Debian libyara, twelve runs; TestCompilerHeapIsPrepared).
//
// How: glibc is told to serve allocations below 2×compilerHeapBytes from
// its heap and to keep freed heap, then one block of compilerHeapBytes is
// allocated, advised for huge pages, populated and freed. The compile's
// allocations then come from that memory — on the same thread, since each
// thread mallocs from its own arena: compile locks its goroutine to one
// thread, and the first compile of the process prepares it (sync.Once).
// Later compiles on other threads are as before. TOMSCAN_THP=off leaves
// malloc alone.

// compilerHeapBytes is the heap a process's first compile prepares: the
// shipped pack's compile touches about 10 MB; a larger pack's buffers
// double past that and fault as before.
const compilerHeapBytes = 16 << 20

var (
	prepareCompilerHeapOnce sync.Once
	compilerHeapPrepared    bool // whether it was done (for a test)
)

// prepareCompilerHeap prepares the calling thread's malloc arena for a
// compile, once per process; the caller holds its goroutine on the thread
// (runtime.LockOSThread) until its compile is done.
func prepareCompilerHeap() {
	prepareCompilerHeapOnce.Do(func() {
		if hugepages.Disabled() {
			return
		}
		var huge uintptr // advised only where the kernel's mode wants asking
		if hugepages.Wanted() {
			huge = hugepages.PageSize()
		}
		compilerHeapPrepared = C.tomscan_prepare_compiler_heap(C.size_t(compilerHeapBytes), C.size_t(huge)) == 0
	})
}
