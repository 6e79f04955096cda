//go:build !race

package pe

const raceEnabled = false
