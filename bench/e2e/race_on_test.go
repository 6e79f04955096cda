//go:build race

package main

// raceEnabled: the race detector's shadow memory multiplies what a
// race-built test binary holds, so its own RSS cannot be bounded from above.
const raceEnabled = true
