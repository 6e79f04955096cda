//go:build race

package pe

// raceEnabled: the race detector slows the byte-crunching tests ~10x, so the
// corpus-wide measurements sample under it (make test runs with -race).
const raceEnabled = true
