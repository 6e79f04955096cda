// Command campaign runs a hostile-input campaign against the tomscan
// binary: it generates mutants of the synthetic corpus, bombs, traversal
// and hostile names (package corpus/hostile), scans them in batches, and
// prints per class how many were tried, handled, crashed, hung, reported
// with a wrong status (a truncation that `succeeded`) or left a hostile
// string unescaped, then the worst peak RSS and what the runs left behind.
// With -kill-points it then runs the kill campaign (hostile.RunKill):
// -kill-builds builds scanned once without interruption, then killed with
// SIGKILL at that many random moments, each kill followed by a rerun; the
// archive the last rerun ends with must equal the uninterrupted one byte
// for byte. It exits 1 when a target is missed (README "Hostile campaign").
//
//	go run ./corpus/cmd/campaign -tomscan bin/tomscan -corpus corpus/out -n 5000
//	go run ./corpus/cmd/campaign -tomscan bin/tomscan -corpus corpus/out -n 0 -kill-points 10 -kill-builds 2000
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
		kills   = flag.Int("kill-points", 0, "kill campaign: SIGKILL the scan at this many random moments (0: no kill campaign)")
		kBuilds = flag.Int("kill-builds", 2000, "kill campaign: builds (corpus builds and copies of them)")
		kSeed   = flag.Uint64("kill-seed", 0, "kill campaign: seed of the kill moments (0: from the clock, printed)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := 0
	if *n > 0 {
		c, err := run(ctx, *bin, *corpus, *n, *seed, *batch, *jobs, *timeout, *work, *keep, *rssMax)
		if err != nil {
			fmt.Fprintf(os.Stderr, "campaign: %v\n", err)
			os.Exit(2)
		}
		code = max(code, c)
	}
	if *kills > 0 {
		c, err := runKill(ctx, *bin, *corpus, *kBuilds, *kills, *kSeed, *jobs, *work, *keep)
		if err != nil {
			fmt.Fprintf(os.Stderr, "campaign: %v\n", err)
			os.Exit(2)
		}
		code = max(code, c)
	}
	os.Exit(code)
}

func runKill(ctx context.Context, bin, corpus string, n, points int, seed uint64, jobs int, work string, keep bool) (int, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return 0, err
	}
	builds, err := hostile.LoadCorpus(corpus)
	if err != nil {
		return 0, err
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	if work == "" {
		if work, err = os.MkdirTemp("", "tomscan-kill-"); err != nil {
			return 0, err
		}
		if !keep {
			defer os.RemoveAll(work)
		}
	} else {
		work = filepath.Join(work, "kill")
	}
	fmt.Fprintf(os.Stderr, "campaign: kill -9 at %d random moments of a %d-build scan (seed %d), in %s\n", points, n, seed, work)
	res, err := hostile.RunKill(ctx, hostile.KillOptions{Tomscan: abs, Builds: builds, N: n, Points: points, Seed: seed, Work: work, Jobs: jobs, Log: os.Stderr})
	if err != nil {
		return 0, fmt.Errorf("kill campaign (seed %d): %w", seed, err)
	}
	fmt.Print(res)
	if res.Failed() {
		fmt.Printf("kill campaign: targets MISSED (rerun with -kill-seed %d)\n", seed)
		return 1, nil
	}
	fmt.Println("kill campaign: targets met")
	return 0, nil
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
