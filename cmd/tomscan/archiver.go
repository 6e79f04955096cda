package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
)

// archiver archives finished builds off the scan's critical path: the
// results go into a bounded queue, so that the worker that made one gets
// its next build at once, and one goroutine writes each build's files and
// then upserts all the builds it has written in one index transaction (a
// commit per build, with its journal and fsyncs, was most of a rescan that
// runs only the rules).
//
// Crash safety is that of writing then upserting one build at a time: a
// build's files are complete (reports.WriteAtomic) before its rows are
// upserted, and the index's canonical mark is cleared before the first
// file is written (Index.WillChange), so a run killed with builds written
// but not yet upserted leaves an index the next scan does not trust blindly
// (Index.Flushed): it rescans those builds, or reuses one only when its own
// report carries the wanted key.
type archiver struct {
	out   string
	index *archive.Index
	want  map[string]bool
	// archived is called, in the archiver's goroutine and in the order the
	// builds finished, for each build once it is in the archive and the
	// index.
	archived func(pipeline.Result)
	// failed is called (once) when the archive cannot be written: the run
	// must stop; nothing more is archived.
	failed func(error)
	// expect is how many builds the run will hand over (0: not known) and
	// inFlight how many can be on the workers at once: once every build
	// still to come is in flight, the archiver no longer lingers (see
	// lingers).
	expect, inFlight int
	linger           time.Duration // archiveLinger; a test sets another

	queue chan pipeline.Result
	done  chan struct{}

	mu  sync.Mutex
	err error
}

// archiveQueue is how many finished builds may wait for the archiver; past
// it a worker waits, as it did when the parent archived each build itself.
// It bounds the reports held in memory.
const archiveQueue = 16

// maxArchiveBatch bounds the builds upserted in one transaction (and so
// the builds a kill can leave written but not indexed).
const maxArchiveBatch = 32

// archiveLinger is how long the archiver waits for more finished builds
// before it writes the ones it has: each transaction's commit costs its
// journal and fsyncs (about a millisecond of CPU each on the project
// machine, in the process that also hands out the builds), and builds that
// finish every few milliseconds (a rescan that runs only the rules) were
// otherwise a commit each, a sixth of the parent's CPU. 60 ms rather than
// 20: a scan of the synthetic corpus commits about a third as often, and
// its CPU drops by 2-3% (first scan and rules-only rescan, 8 interleaved
// pairs each). A closed queue ends the wait at once, and there is none once
// every build still to come is in flight (lingers), so the last builds of
// a run are not held back; a kill leaves at most this much more finished
// work unindexed (rescanned, or reused once its report is checked).
const archiveLinger = 60 * time.Millisecond

func startArchiver(ctx context.Context, a *archiver) *archiver {
	a.queue = make(chan pipeline.Result, archiveQueue)
	a.done = make(chan struct{})
	// A finished build is archived even when the run is being interrupted.
	go a.loop(context.WithoutCancel(ctx))
	return a
}

// add queues a finished build; it blocks while the queue is full.
func (a *archiver) add(r pipeline.Result) { a.queue <- r }

// close waits until every queued build is archived (or dropped after a
// failure) and returns the failure, if any.
func (a *archiver) close() error {
	close(a.queue)
	<-a.done
	return a.failure()
}

func (a *archiver) failure() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *archiver) fail(err error) {
	a.mu.Lock()
	first := a.err == nil
	if first {
		a.err = err
	}
	a.mu.Unlock()
	if first {
		a.failed(err)
	}
}

// lingers tells whether, having been handed received builds, the archiver
// waits for more before it writes the ones it has. It does not once every
// build still to come is in flight: those finish about together at the
// end of the run, and a batch gathered while they ran would be written
// only after the last of them, on the run's critical path (in a rules-only
// rescan of the synthetic corpus the last batch held half the builds and
// took 26 ms after the workers were done). Written as they come instead,
// they overlap the builds still running, at the cost of a few more commits.
func (a *archiver) lingers(received int) bool {
	return a.expect == 0 || a.expect-received > a.inFlight
}

func (a *archiver) loop(ctx context.Context) {
	defer close(a.done)
	batch := make([]pipeline.Result, 0, maxArchiveBatch)
	wait := a.linger
	if wait == 0 {
		wait = archiveLinger
	}
	linger := time.NewTimer(wait)
	received := 0
	for r := range a.queue {
		batch = append(batch[:0], r)
		received++
		linger.Reset(wait)
	drain:
		for len(batch) < maxArchiveBatch && a.lingers(received) {
			select {
			case r, ok := <-a.queue:
				if !ok {
					break drain // the run is over: nothing to wait for
				}
				batch = append(batch, r)
				received++
			case <-linger.C:
				break drain
			}
		}
		// Whatever is queued already goes into this batch: taking it
		// costs no waiting.
	queued:
		for len(batch) < maxArchiveBatch {
			select {
			case r, ok := <-a.queue:
				if !ok {
					break queued
				}
				batch = append(batch, r)
				received++
			default:
				break queued
			}
		}
		linger.Stop()
		if a.failure() != nil {
			continue // stopping: nothing more is archived
		}
		a.write(ctx, batch)
	}
}

// write archives one batch: every build's files, then their rows in one
// transaction. A build whose files could not be written is not upserted,
// nor is any after it.
func (a *archiver) write(ctx context.Context, batch []pipeline.Result) {
	if err := a.index.WillChange(ctx); err != nil {
		a.fail(fmt.Errorf("scan: writing reports failed, the run stopped (reports written before are intact): %w", err))
		return
	}
	rows := make([]archive.Keyed, 0, len(batch))
	synced := syncReportFiles(batch)
	var werr error
	for i, r := range batch {
		if werr = synced[i]; werr != nil {
			break
		}
		_, html := pagesWritten(r, a.want)
		k := archive.Keyed{Key: r.Build.Key, Report: r.Report, NoPage: !html}
		if p, ok := r.Prepared.(*archive.Prepared); ok && r.Report == nil {
			k.Rows = p.Rows // the worker's: the report was not decoded here
		}
		if k.NoPage {
			// an earlier scan's page, which writeBuildFiles removes
			_, err := os.Stat(filepath.Join(reports.BuildDir(a.out, r.Build.Key), archive.ReportHTML))
			k.PageRemoved = err == nil
		}
		if werr = writeBuildFiles(a.out, r, a.want); werr != nil {
			break
		}
		rows = append(rows, k)
	}
	if len(rows) > 0 {
		if err := a.index.UpsertBatch(ctx, rows); err != nil {
			a.fail(fmt.Errorf("scan: writing reports failed, the run stopped (reports written before are intact): %w", err))
			return
		}
		for _, r := range batch[:len(rows)] {
			a.archived(r)
		}
	}
	if werr != nil {
		a.fail(fmt.Errorf("scan: writing reports failed, the run stopped (reports written before are intact): %w", werr))
	}
}

// syncReportFiles syncs the report file each worker wrote for a build of
// the batch (Result.JSONFile) before it is moved into the archive, all at
// once: a file's bytes are on disk before it replaces a report, as with
// reports.WriteAtomic, and side by side the syncs share the file system's
// journal commits (a sync per build in each worker held it for one each).
// The answer is each build's error, nil for one without a file.
func syncReportFiles(batch []pipeline.Result) []error {
	errs := make([]error, len(batch))
	var wg sync.WaitGroup
	for i, r := range batch {
		if r.JSONFile == "" {
			continue
		}
		wg.Go(func() { errs[i] = syncFile(r.JSONFile) })
	}
	wg.Wait()
	return errs
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync report: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync report %s: %w", path, err)
	}
	return nil
}
