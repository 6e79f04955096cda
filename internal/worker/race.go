//go:build race

package worker

// raceBuild: the race detector maps the Go heap at fixed addresses and
// reports "too many address space collisions" as soon as an mmap fails, so
// an address-space cap kills a race-instrumented worker at its first heap
// growth. Such builds (tests only, never shipped) run workers uncapped.
const raceBuild = true
