package reports

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
)

// InstallerView is what one installer would do, for the pages: its action
// tables in a fixed order (where files go, what is written to the
// registry, what runs, which shortcuts and services appear), the
// reconstructed script, and the names of the other tables, which only the
// JSON report carries.
type InstallerView struct {
	Node   string
	Format string
	Tables []Section
	Script []string // lines, so each can be made safe on its own
	Other  []string
}

// actionTables are the installer tables the pages show, in this order: the
// tables of every format that answer "where does a file go, what starts
// it". Names are as the extractors record them (docs/contracts.md).
var actionTables = []string{
	"setup", // Inno: application, version, default folder
	"files", "File", "external_files", "external_cabinets", "dirs", "Directory",
	"registry", "Registry",
	"run", "exec", "CustomAction", "ServiceInstall", "ServiceControl",
	"icons", "shortcuts", "Shortcut",
	"reader", // NSIS: which reader extracted the files
}

// Page caps: the JSON report keeps everything.
const (
	maxPageRows   = 200
	maxPageScript = 64 << 10
)

func installerView(n *artifact.Node) InstallerView {
	iv := InstallerView{Node: n.ID, Format: n.Installer.Format}
	shown := map[string]bool{}
	for _, name := range actionTables {
		t, ok := n.Installer.Tables[name]
		shown[name] = true // an empty action table is not "other" either
		if !ok || len(t.Rows) == 0 {
			continue
		}
		s := Section{Name: name, Columns: append([]string(nil), t.Columns...)}
		for i, r := range t.Rows {
			if i == maxPageRows {
				s.Rows = append(s.Rows, Row{fmt.Sprintf("… %d more rows in report.json", len(t.Rows)-maxPageRows)})
				break
			}
			s.Rows = append(s.Rows, append(Row(nil), r...))
		}
		iv.Tables = append(iv.Tables, s)
	}
	for name := range n.Installer.Tables {
		if !shown[name] {
			iv.Other = append(iv.Other, name)
		}
	}
	sort.Strings(iv.Other)
	if script := n.Installer.Script; script != "" {
		more := ""
		if len(script) > maxPageScript {
			script, more = script[:maxPageScript], fmt.Sprintf("… %d more bytes in report.json", len(script)-maxPageScript)
		}
		iv.Script = strings.Split(strings.TrimRight(script, "\n"), "\n")
		if more != "" {
			iv.Script = append(iv.Script, more)
		}
	}
	return iv
}
