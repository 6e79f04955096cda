package sevenzip

import "os"

// readSeed reads the committed fuzz seed archive.
func readSeed() ([]byte, error) { return os.ReadFile("testdata/seed.7z") }
