package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
	"github.com/tomscan/tomscan/reports"
)

// TestInputChangedAfterHashing: the engine takes the input's SHA-256 from
// the build's key (made when the inputs were grouped) and checks it against
// the bytes it reads. An input rewritten between the two gets the SHA-256
// of what was scanned and an issue that says the input changed; one left
// alone gets neither, in process and in a worker, with and without lanes.
func TestInputChangedAfterHashing(t *testing.T) {
	for _, c := range []struct {
		name    string
		isolate bool
		cores   int
	}{{"in process", false, 1}, {"in process, lanes", false, 2}, {"worker", true, 1}, {"worker, lanes", true, 2}} {
		dir := t.TempDir()
		big := filepath.Join(dir, "big.bin")
		small := filepath.Join(dir, "small.txt")
		if err := os.WriteFile(big, []byte(strings.Repeat("tomscan input ", 20000)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(small, []byte("left alone"), 0o644); err != nil {
			t.Fatal(err)
		}
		inputs, _, err := pipeline.Discover([]string{dir}, pipeline.DiscoverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		builds, _, err := pipeline.Group(context.Background(), inputs)
		if err != nil || len(builds) != 2 {
			t.Fatalf("%d builds, %v", len(builds), err)
		}
		now := []byte(strings.Repeat("TOMSCAN INPUT ", 20000)) // same size, other bytes
		if err := os.WriteFile(big, now, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := pipelinetest.Config(t)
		if c.isolate {
			cfg = isolated(t, cfg, 2<<30)
		}
		cfg.Jobs, cfg.Cores = 1, c.cores
		err = pipeline.Run(context.Background(), cfg, builds, func(r pipeline.Result) {
			rep := r.Report
			if rep == nil {
				var derr error
				if rep, derr = decodeResult(r); derr != nil {
					t.Fatal(derr)
				}
			}
			changed := false
			for _, is := range rep.Tree.Issues {
				changed = changed || strings.Contains(is.Message, "the input changed while it was scanned")
			}
			sum := sha256.Sum256(now)
			switch filepath.Base(r.Build.Inputs[0].Path) {
			case "big.bin":
				if !changed || rep.Tree.SHA256 != hex.EncodeToString(sum[:]) || rep.Build.SHA256 != rep.Tree.SHA256 {
					t.Errorf("%s: changed input: sha256 %s (build %s), issues %+v", c.name, rep.Tree.SHA256, rep.Build.SHA256, rep.Tree.Issues)
				}
			default:
				if changed || rep.Tree.SHA256 != r.Build.Key {
					t.Errorf("%s: input left alone: sha256 %s, key %s, issues %+v", c.name, rep.Tree.SHA256, r.Build.Key, rep.Tree.Issues)
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// decodeResult is the report of a result from a worker.
func decodeResult(r pipeline.Result) (*reports.Report, error) {
	js := r.JSON
	if js == nil && r.JSONFile != "" {
		var err error
		if js, err = os.ReadFile(r.JSONFile); err != nil {
			return nil, err
		}
	}
	return reports.DecodeJSON(js)
}
