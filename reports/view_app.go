package reports

import "github.com/tomscan/tomscan/internal/artifact"

// appVersion is the CFBundleVersion of the first IPA in the tree, for
// builds without PE version info.
func appVersion(root *artifact.Node) string {
	var v string
	_ = root.Walk(func(n *artifact.Node) error {
		if v == "" && n.IOS != nil {
			v = n.IOS.BuildVersion
		}
		return nil
	})
	return v
}
