package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/nodecache"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
	"github.com/tomscan/tomscan/internal/tom/lists"
	"github.com/tomscan/tomscan/reports"
)

// BenchmarkRulesOnlyReplay measures what issue 16 targets (≤ 30%): a scan
// whose rule-independent trees are all in the node cache (a rules-only
// rescan: the tree key does not hold the rules) against a fresh scan of the
// same corpus builds, in process, one job, interleaved each iteration so a
// loaded machine hurts both alike. It reports both wall times and their
// ratio in percent.
func BenchmarkRulesOnlyReplay(b *testing.B) {
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		b.Skip("TOMSCAN_CORPUS not set (make corpus)")
	}
	files, err := filepath.Glob(filepath.Join(dir, "builds", "*"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no corpus builds in %s: %v", dir, err)
	}
	sort.Strings(files)
	ctx := context.Background()
	inputs, _, err := pipeline.Discover(files, pipeline.DiscoverOptions{})
	if err != nil {
		b.Fatal(err)
	}
	builds, _, err := pipeline.Group(ctx, inputs)
	if err != nil {
		b.Fatal(err)
	}
	fresh := pipelinetest.Config(b)
	fresh.Jobs = 1
	// as a scan sets it: the snapshots' digest keys the memos of the
	// snapshot comparisons and of the TOM result
	if fresh.Cache.KeywordLists, err = lists.Digest(ctx, fresh.TOM.KeywordListsDir); err != nil {
		b.Fatal(err)
	}
	cache, err := nodecache.Open(b.TempDir(), 4<<30)
	if err != nil {
		b.Fatal(err)
	}
	cached := fresh
	cached.NodeCache = cache
	scan := func(cfg pipeline.Config, wantHits bool) (time.Duration, time.Duration) {
		start, cpu0 := time.Now(), cpuTime()
		n := 0
		if err := pipeline.Run(ctx, cfg, builds, func(r pipeline.Result) {
			if r.Report == nil {
				return
			}
			n++
			if wantHits && r.Stats.CacheHits == 0 && r.Stats.Nodes > 0 {
				b.Errorf("%s: not replayed", r.Build.Key)
			}
			if r.JSON == nil {
				if _, err := reports.EncodeJSON(r.Report); err != nil {
					b.Fatal(err)
				}
			}
		}); err != nil || n != len(builds) {
			b.Fatalf("scan: %d of %d reports, %v", n, len(builds), err)
		}
		return time.Since(start), cpuTime() - cpu0
	}
	_, _ = scan(cached, false) // fills the cache
	var ft, rt, fc, rc time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if os.Getenv("TOMSCAN_BENCH_REPLAY_ONLY") == "" {
			w, c := scan(fresh, false)
			ft, fc = ft+w, fc+c
		}
		w, c := scan(cached, true)
		rt, rc = rt+w, rc+c
	}
	b.ReportMetric(ft.Seconds()/float64(b.N), "s-fresh/op")
	b.ReportMetric(rt.Seconds()/float64(b.N), "s-replay/op")
	if ft > 0 {
		b.ReportMetric(100*rt.Seconds()/ft.Seconds(), "replay-%")
		// CPU (user+sys of this process, GC included) is steadier than
		// wall time on a shared machine.
		b.ReportMetric(100*rc.Seconds()/fc.Seconds(), "replay-cpu-%")
	}
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
