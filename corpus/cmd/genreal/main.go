// Command genreal gathers real third-party PE files and installers into
// <out>/files with <out>/manifest.json. Downloads are cached; a second run
// with the cache filled does no network.
//
//	go run ./corpus/cmd/genreal -out corpus/real
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/tomscan/tomscan/corpus/realcorpus"
)

func main() {
	out := flag.String("out", "corpus/real", "output folder (manifest.json, files/)")
	cache := flag.String("cache", "", "download cache (default: <user cache>/tomscan-corpus/real)")
	flag.Parse()
	if *cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		*cache = filepath.Join(base, "tomscan-corpus", "real")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	m, err := realcorpus.Gather(ctx, realcorpus.Config{OutDir: *out, CacheDir: *cache, Sources: realcorpus.Sources, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "genreal:", err)
		os.Exit(1)
	}
	pes, signed := 0, 0
	for _, f := range m.Files {
		if f.PE {
			pes++
		}
		if f.Signed {
			signed++
		}
	}
	fmt.Fprintf(os.Stderr, "genreal: %d files (%d PE, %d signed) in %s -> %s\n", len(m.Files), pes, signed, time.Since(start).Round(time.Millisecond), *out)
}
