// Package pipelinetest runs the whole scan pipeline in tests, configured as
// `tomscan scan` is by default.
package pipelinetest

import (
	"context"
	"os"
	"testing"

	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/registry"
	"github.com/tomscan/tomscan/rules"
)

// Config is the default scan: the shipped rules, every extractor, default
// limits, the TOM analysers on $TOMSCAN_KEYWORD_LISTS, scratch under a test
// folder, two builds at once.
func Config(t testing.TB) pipeline.Config {
	t.Helper()
	src, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Compile(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.Config{
		Limits: limits.Default(), Rules: set, Engine: unpack.New(registry.All(), registry.Tools()),
		Jobs: 2, ScratchDir: t.TempDir(),
		TOM: tom.Options{KeywordListsDir: os.Getenv("TOMSCAN_KEYWORD_LISTS")},
	}
}

// Scan discovers the files under paths, groups them into builds and runs
// cfg over them; fn gets each result, one at a time. Any error fails t.
func Scan(t testing.TB, cfg pipeline.Config, paths []string, fn func(pipeline.Result)) {
	t.Helper()
	ctx := context.Background()
	inputs, skipped, err := pipeline.Discover(paths, pipeline.DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	builds, skipped2, err := pipeline.Group(ctx, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if s := append(skipped, skipped2...); len(s) > 0 {
		t.Fatalf("inputs skipped: %v", s)
	}
	err = pipeline.Run(ctx, cfg, builds, func(r pipeline.Result) {
		if r.Report == nil {
			t.Errorf("%s: no report (interrupted %v, error %v)", r.Build.Inputs[0].Ref, r.Interrupted, r.Err)
			return
		}
		fn(r)
	})
	if err != nil {
		t.Fatal(err)
	}
}
