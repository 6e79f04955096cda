//go:build !race

package worker

// raceBuild: see race.go.
const raceBuild = false
