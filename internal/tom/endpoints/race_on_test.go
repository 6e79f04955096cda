//go:build race

package endpoints

// raceEnabled: the race detector slows the corpus-wide comparison ~10x, so
// it samples under it.
const raceEnabled = true
