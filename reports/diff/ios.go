package diff

import (
	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/reports"
)

// appFields: an IPA's declarations and a Mach-O's capabilities, side by
// side (reports.AppFields).
func appFields(n *artifact.Node) map[string]string { return reports.AppFields(n) }
