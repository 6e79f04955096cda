package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
	"github.com/tomscan/tomscan/reports"
)

// testPreparer is a pipeline.Preparer whose mode says how it behaves:
// "ok" prepares "key status matches", "fail" cannot prepare, "garbage"
// prepares what Decode refuses.
type testPreparer string

type prepared struct{ key, status string }

func (p testPreparer) Prepare(_ context.Context, key string, r *reports.Report) ([]byte, error) {
	switch p {
	case "fail":
		return nil, errors.New("cannot prepare")
	case "garbage":
		return []byte("garbage"), nil
	}
	return []byte(fmt.Sprintf("prepared %s %s", key, r.Status)), nil
}

func (p testPreparer) Decode(b []byte) (any, error) {
	f := strings.Fields(string(b))
	if len(f) != 3 || f[0] != "prepared" {
		return nil, fmt.Errorf("not prepared: %q", b)
	}
	return prepared{f[1], f[2]}, nil
}

// TestWorkerPreparesBuilds: with a Preparer, a worker hands each build over
// prepared (the parent does not decode the report: Report is nil) and
// streams the report into a file in the run's scratch folder (JSONFile, the
// bytes it would have sent without a Preparer); a worker that cannot prepare
// hands the report over alone; a worker whose prepared bytes do not decode
// costs the build, as an unreadable report does (worker-crashed).
func TestWorkerPreparesBuilds(t *testing.T) {
	dir := linkAll(t, corpusSample(t)[:4])
	base := pipelinetest.Config(t)
	want := map[string][]byte{}
	run(t, isolated(t, base, 2<<30), dir, func(r pipeline.Result) { want[r.Build.Key] = r.JSON })

	for _, mode := range []testPreparer{"ok", "fail", "garbage"} {
		cfg := base
		cfg.Preparer = mode
		cfg = isolated(t, cfg, 2<<30)
		n := 0
		run(t, cfg, dir, func(r pipeline.Result) {
			n++
			switch mode {
			case "ok":
				// with a scratch folder of the run's, the worker wrote the
				// report into a file there rather than sending it
				js, err := os.ReadFile(r.JSONFile)
				if err != nil || r.JSON != nil || filepath.Dir(r.JSONFile) != filepath.Join(cfg.ScratchDir, "reports") {
					t.Errorf("ok: %s: report file %q (%v), in the answer too: %v", r.Build.Key, r.JSONFile, err, r.JSON != nil)
					return
				}
				p, ok := r.Prepared.(prepared)
				if !ok || r.Report != nil || string(js) != string(want[r.Build.Key]) {
					t.Errorf("ok: %s: prepared %v, report decoded %v, same JSON %v", r.Build.Key, r.Prepared, r.Report != nil, string(js) == string(want[r.Build.Key]))
					return
				}
				rep, err := reports.DecodeJSON(js)
				if err != nil || p.key != r.Build.Key || p.status != rep.Status {
					t.Errorf("ok: %s: prepared %+v for a report %v with status %q", r.Build.Key, p, err, rep.Status)
				}
			case "fail":
				if r.Prepared != nil || r.Report == nil || r.JSONFile != "" || string(r.JSON) != string(want[r.Build.Key]) {
					t.Errorf("fail: %s: prepared %v, report %v", r.Build.Key, r.Prepared, r.Report != nil)
				}
			case "garbage":
				if r.Prepared != nil || r.Report == nil || r.Report.Status != reports.StatusFailed ||
					len(r.Report.Tree.Issues) != 1 || r.Report.Tree.Issues[0].Kind != artifact.KindWorkerCrashed {
					t.Errorf("garbage: %s: want a worker-crashed report, got prepared %v, report %+v", r.Build.Key, r.Prepared, r.Report)
				}
			}
		})
		if n != len(want) {
			t.Errorf("%s: %d results for %d builds", mode, n, len(want))
		}
	}
}

// run scans dir and calls fn with every result, prepared or not.
func run(t *testing.T, cfg pipeline.Config, dir string, fn func(pipeline.Result)) {
	t.Helper()
	ctx := context.Background()
	inputs, _, err := pipeline.Discover([]string{dir}, pipeline.DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	builds, _, err := pipeline.Group(ctx, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if err := pipeline.Run(ctx, cfg, builds, func(r pipeline.Result) {
		if r.Err != nil || r.Interrupted {
			t.Errorf("%s: error %v, interrupted %v", r.Build.Key, r.Err, r.Interrupted)
			return
		}
		fn(r)
	}); err != nil {
		t.Fatal(err)
	}
}
