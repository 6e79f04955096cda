//go:build race

package archive_test

// raceOn: the race detector instruments the pure-Go SQLite too, which
// makes a 10,000-build index take minutes to build and render.
const raceOn = true
