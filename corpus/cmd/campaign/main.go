// Command campaign runs a hostile-input campaign against the tomscan
// binary: it generates mutants of the synthetic corpus, bombs, traversal
// and hostile names (package corpus/hostile), scans them in batches, and
// prints per class how many were tried, handled, crashed, hung, reported
// with a wrong status (a truncation that `succeeded`) or left a hostile
// string unescaped, then the worst peak RSS and what the runs left behind.
// It exits 1 when a target is missed (README "Hostile campaign").
//
//	go run ./corpus/cmd/campaign -tomscan bin/tomscan -corpus corpus/out -n 5000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/tomscan/tomscan/corpus/hostile"
)

func main() {
	var (
		bin     = flag.String("tomscan", "bin/tomscan", "the tomscan binary")
		corpus  = flag.String("corpus", "corpus/out", "synthetic corpus folder (builds/)")
		n       = flag.Int("n", 5000, "inputs")
		seed    = flag.Uint64("seed", 14, "generator seed")
		batch   = flag.Int("batch", 250, "inputs per tomscan run")
		jobs    = flag.Int("jobs", 2, "tomscan --jobs")
		timeout = flag.Duration("timeout", 20*time.Minute, "per batch: past it, the batch is hung")
		work    = flag.String("work", "", "work folder (default: a temp folder, removed at the end)")
		keep    = flag.Bool("keep", false, "keep the work folder")
		rssMax  = flag.Int64("max-rss-mb", 0, "a batch peak RSS above this many MB misses a target (0: not checked)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, *bin, *corpus, *n, *seed, *batch, *jobs, *timeout, *work, *keep, *rssMax)
	if err != nil {
		fmt.Fprintf(os.Stderr, "campaign: %v\n", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(ctx context.Context, bin, corpus string, n int, seed uint64, batch, jobs int, timeout time.Duration, work string, keep bool, rssMax int64) (int, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return 0, err
	}
	builds, err := hostile.LoadCorpus(corpus)
	if err != nil {
		return 0, err
	}
	if work == "" {
		if work, err = os.MkdirTemp("", "tomscan-campaign-"); err != nil {
			return 0, err
		}
		if !keep {
			defer os.RemoveAll(work)
		}
	}
	fmt.Fprintf(os.Stderr, "campaign: %d inputs from %d corpus builds (seed %d), %d per batch, in %s\n", n, len(builds), seed, batch, work)
	res, err := hostile.RunEach(ctx, func(fn func(hostile.Input) error) error { return hostile.Each(builds, n, seed, fn) },
		hostile.Options{Tomscan: abs, Work: work, Batch: batch, Jobs: jobs, Timeout: timeout, Log: os.Stderr})
	if err != nil {
		return 0, err
	}
	fmt.Print(res.Table())
	fails := res.Failures()
	for _, f := range fails {
		fmt.Println("  " + strconv.QuoteToGraphic(f)[1:len(strconv.QuoteToGraphic(f))-1])
	}
	f := res.Figures()
	missed := len(fails) > 0 || f.ScratchBytes > 0 || f.ProcsLeft > 0 || f.TempFiles > 0 || f.CrashedBatches > 0 || f.HungBatches > 0 ||
		(rssMax > 0 && f.PeakRSS > rssMax<<20)
	if missed {
		fmt.Println("campaign: targets MISSED")
		return 1, nil
	}
	fmt.Println("campaign: targets met")
	return 0, nil
}
