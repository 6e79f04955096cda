package main

import "flag"

type testFlags struct {
	set  *flag.FlagSet
	out  *string
	jobs *int
}

func newTestFlagSet() testFlags {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	return testFlags{set: fs, out: fs.String("out", "", ""), jobs: fs.Int("jobs", 1, "")}
}
