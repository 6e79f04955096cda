// Command gencorpus builds the synthetic corpus: every spec in -specs becomes
// a build in <out>/builds, and <out>/manifest.json records the ground truth.
//
//	go run ./corpus/cmd/gencorpus -specs corpus/specs -keywords DIR -out corpus/out
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/tomscan/tomscan/corpus/gen"
)

func main() {
	specs := flag.String("specs", "corpus/specs", "folder of build specs (*.json)")
	keywords := flag.String("keywords", "corpus/testdata/synthetic-keyword-lists", "keyword-list folder (Citizen Lab layout)")
	out := flag.String("out", "corpus/out", "output folder (manifest.json, builds/)")
	certs := flag.String("certs", "corpus/testdata/certs", "synthetic signing certificates")
	cache := flag.String("cache", "", "download cache (default: the user cache folder)")
	jobs := flag.Int("j", 0, "builds at once (default: twice the number of CPUs)")
	only := flag.String("only", "", "comma-separated build ids to generate (default: all)")
	keep := flag.Bool("keep-work", false, "keep <out>/work (intermediate files)")
	flag.Parse()

	cfg := gen.Config{SpecsDir: *specs, KeywordsDir: *keywords, OutDir: *out, CertDir: *certs,
		CacheDir: *cache, Jobs: *jobs, KeepWork: *keep}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	g, err := gen.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(2)
	}
	m, err := g.Generate(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gencorpus: %d builds (%s keyword lists) in %s -> %s\n",
		len(m.Builds), m.KeywordSource, time.Since(start).Round(time.Millisecond), *out)
}
