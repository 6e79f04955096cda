package pipeline_test

import (
	"fmt"
	"testing"

	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
)

// TestLanesReportsAreByteIdentical: analysing a build's nodes in lanes
// beside the walk gives the same report.json, report.md and report.html,
// byte for byte, as one node at a time, however many lanes there are and
// however little the pending nodes may hold (which makes the walk wait for
// lanes). Small scan limits put YARA issues on nodes that also get unpacker
// issues, so the order of a node's issues is checked too.
func TestLanesReportsAreByteIdentical(t *testing.T) {
	dir := linkAll(t, corpusSample(t))
	for _, variant := range []string{"default", "small"} {
		base := pipelinetest.Config(t)
		base.Jobs = 1
		if variant == "small" {
			base.Limits.InMemoryBytes = 64 << 10
			base.Limits.MaxYARAMatchesBytes = 32 << 10
		}
		restore := pipeline.SetLanes(0)
		want, _ := scanAll(t, base, dir)
		restore()
		for _, lanes := range []int{1, 3} {
			restore := pipeline.SetLanes(lanes)
			cfg := base
			cfg.Cores = 1 + lanes // one job with the cores for every lane
			got, _ := scanAll(t, cfg, dir)
			restore()
			samePages(t, fmt.Sprintf("%s limits, %d lanes vs none", variant, lanes), want, got)
		}
	}
}
