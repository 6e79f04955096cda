package msi

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
)

// ExternalFilesTable is the installer table listing the files an MSI keeps
// in external cabinets (cabinet, file_key, path): files that ship beside the
// MSI rather than inside it.
const ExternalFilesTable = "external_files"

// ExternalCabinetsTable records, after LinkTree, where each external
// cabinet was found in the build (cabinet, node, files_linked).
const ExternalCabinetsTable = "external_cabinets"

// LinkTree implements unpack.TreeLinker. An external cabinet is a sibling of
// the MSI in the same container (Data1.cab next to Setup.msi in a ZIP or a
// self-extractor); the engine unpacks it on its own, its files named by
// their MSI file keys. Once the whole build is unpacked, LinkTree finds each
// MSI's external cabinets among its siblings and gives every file in them
// the install path the MSI's tables give it (meta msi_install_path, and msi:
// the MSI's node id), the way msiextract names them with the cabinet beside
// the MSI. A cabinet not in the build is an issue on the MSI's node.
func (Extractor) LinkTree(root *artifact.Node) {
	byID := map[string]*artifact.Node{}
	_ = root.Walk(func(n *artifact.Node) error {
		byID[n.ID] = n
		return nil
	})
	var walk func(n, parent *artifact.Node)
	walk = func(n, parent *artifact.Node) {
		if n.Installer != nil && n.Installer.Format == "msi" && n.DuplicateOf == "" {
			linkExternal(n, parent, byID)
		}
		for _, c := range n.Children {
			walk(c, n)
		}
	}
	walk(root, nil)
}

func linkExternal(msi, parent *artifact.Node, byID map[string]*artifact.Node) {
	t, ok := msi.Installer.Tables[ExternalFilesTable]
	if !ok || len(t.Rows) == 0 {
		return
	}
	files := map[string]map[string]string{} // cabinet -> file key -> install path
	var cabinets []string
	for _, r := range t.Rows {
		if len(r) < 3 {
			continue
		}
		if files[r[0]] == nil {
			files[r[0]] = map[string]string{}
			cabinets = append(cabinets, r[0])
		}
		files[r[0]][r[1]] = r[2]
	}
	found := artifact.Table{Columns: []string{"cabinet", "node", "files_linked"}}
	for _, cab := range cabinets {
		want := path.Join(path.Dir(msi.Name), strings.ReplaceAll(cab, `\`, "/"))
		var sib *artifact.Node
		if parent != nil {
			for _, c := range parent.Children {
				if c != msi && strings.EqualFold(c.Name, want) {
					sib = c
					break
				}
			}
		}
		if sib == nil {
			msi.AddIssue(artifact.KindExtract, "unpack:msi", fmt.Sprintf("msi: external cabinet %q is not beside the MSI in this build: its %d files are not extracted (tomscan links it when both are in one container, e.g. a ZIP or a self-extractor)", cab, len(files[cab])))
			found.Rows = append(found.Rows, []string{cab, "", "0"})
			continue
		}
		target := sib
		if sib.DuplicateOf != "" && byID[sib.DuplicateOf] != nil {
			target = byID[sib.DuplicateOf]
		}
		if target.Container != "cab" {
			msi.AddIssue(artifact.KindExtract, "unpack:msi", fmt.Sprintf("msi: external cabinet %q found at %s but it was not unpacked as a cabinet: its files are not linked", cab, sib.ID))
			found.Rows = append(found.Rows, []string{cab, sib.ID, "0"})
			continue
		}
		linked := map[string]bool{}
		for _, ch := range target.Children {
			p, ok := files[cab][ch.Name]
			if !ok {
				continue
			}
			if ch.Meta == nil {
				ch.Meta = map[string]string{}
			}
			ch.Meta["msi_install_path"] = p
			ch.Meta["msi"] = msi.ID
			linked[ch.Name] = true
		}
		var missing []string
		for key := range files[cab] {
			if !linked[key] {
				missing = append(missing, key)
			}
		}
		if len(missing) > 0 {
			msi.AddIssue(artifact.KindExtract, "unpack:msi", fmt.Sprintf("msi: external cabinet %q (%s) lacks %d of the MSI's files: %s", cab, target.ID, len(missing), strings.Join(sortedHead(missing, 20), ", ")))
		}
		found.Rows = append(found.Rows, []string{cab, target.ID, fmt.Sprint(len(linked))})
	}
	msi.Installer.Tables[ExternalCabinetsTable] = found
}

// sortedHead sorts s and keeps its first n, marking the cut.
func sortedHead(s []string, n int) []string {
	sort.Strings(s)
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}
