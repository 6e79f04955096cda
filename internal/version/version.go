// Package version names this build of tomscan and the libraries that shape
// its reports, so an archived report says exactly what produced it.
package version

import (
	"runtime/debug"
	"sort"
)

// Version and Commit are set with -ldflags "-X ..." by the Makefile; a plain
// `go build` falls back to the module's build info.
var (
	Version = "0.1.0-dev"
	Commit  = ""
)

// tracked are the modules reports name; the rest of the build graph is noise.
var tracked = []string{
	"github.com/saferwall/pe",
	"github.com/hillu/go-yara/v4",
	"github.com/schollz/progressbar/v3",
	"github.com/richardlehane/mscfb",
	"github.com/bodgit/sevenzip",
	"golang.org/x/text",
	"modernc.org/sqlite",
}

// Dependencies returns module -> version for the tracked modules linked into
// this binary, plus extra entries (libyara's version comes from cgo).
func Dependencies(extra map[string]string) map[string]string {
	out := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		want := map[string]bool{}
		for _, m := range tracked {
			want[m] = true
		}
		for _, d := range bi.Deps {
			if want[d.Path] {
				v := d.Version
				if d.Replace != nil {
					v = d.Replace.Version
				}
				out[d.Path] = v
			}
		}
		out["go"] = bi.GoVersion
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// SortedKeys lists a map's keys in order, for printing.
func SortedKeys(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
