package ruletest

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTimeID is Linux's CLOCK_THREAD_CPUTIME_ID: nanosecond CPU
// time of the calling thread (getrusage's per-thread figures are adjusted in
// steps and can stand still over a short pass).
const clockThreadCPUTimeID = 3

// threadCPU is the calling thread's CPU time; wall time if the clock fails.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}
