// Package diff compares two build reports: version info, the files inside
// the installer (matched by path chain below the build file, whose own name
// differs from build to build), endpoints, keywords and rule matches.
package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/termtable"
	"github.com/tomscan/tomscan/reports"
)

// Diff is what changed from build A to build B.
type Diff struct {
	A              Side          `json:"a"`
	B              Side          `json:"b"`
	VersionChanges []FieldChange `json:"version_changes"`
	FilesAdded     []File        `json:"files_added"`
	FilesRemoved   []File        `json:"files_removed"`
	FilesChanged   []FileChange  `json:"files_changed"`
	// FilesMoved are files whose bytes (sha256) left one path and appear
	// at another: a move, not a removal plus an addition.
	FilesMoved     []Move   `json:"files_moved"`
	EndpointsAdded []string `json:"endpoints_added"`
	EndpointsGone  []string `json:"endpoints_removed"`
	KeywordsAdded  []string `json:"keywords_added"`
	KeywordsGone   []string `json:"keywords_removed"`
	// KeywordLists are the keyword changes per list role (keyfile,
	// keyfile_u, ...): a word moving from one list to the other shows in
	// both, while KeywordsAdded/KeywordsGone compare the union of lists.
	KeywordLists  []ListChange   `json:"keyword_lists"`
	RulesGained   []string       `json:"rules_gained"`
	RulesLost     []string       `json:"rules_lost"`
	MatchesGained []NodeRuleDiff `json:"matches_gained"` // per file: rules that match in B and not in A
	MatchesLost   []NodeRuleDiff `json:"matches_lost"`
}

// Side names one of the two builds.
type Side struct {
	Key     string `json:"key"`
	Path    string `json:"path"`
	Version string `json:"version"`
	Verdict string `json:"verdict"`
	Status  string `json:"status"`
	// Report is where the build's report page is, for the HTML page's
	// link (a file:// URL or a relative path); set by the caller, who
	// knows where the reports live. "" renders no link.
	Report string `json:"-"`
}

// Move is one file found at another path in B, with the same bytes.
type Move struct {
	From   string `json:"from"`
	To     string `json:"to"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// ListChange is what changed in one keyword list role from A to B.
type ListChange struct {
	List    string   `json:"list"`
	CountA  int      `json:"count_a"`
	CountB  int      `json:"count_b"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

// FieldChange is one version-info value that differs; Node is the path
// below the build file ("" for the build file itself).
type FieldChange struct {
	Node  string `json:"node"`
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// File is a file inside a build, by its path below the build file.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// FileChange is a path present in both builds with different bytes.
type FileChange struct {
	Path  string `json:"path"`
	SHA_A string `json:"sha256_a"`
	SHA_B string `json:"sha256_b"`
	SizeA int64  `json:"size_a"`
	SizeB int64  `json:"size_b"`
}

// NodeRuleDiff is a rule gained or lost on one file.
type NodeRuleDiff struct {
	Path string `json:"path"`
	Rule string `json:"rule"`
}

// Compare computes the diff from a to b. keyA and keyB name the builds.
func Compare(keyA string, a *reports.Report, keyB string, b *reports.Report) *Diff {
	va, vb := reports.NewView(a), reports.NewView(b)
	d := &Diff{A: side(keyA, va), B: side(keyB, vb)}
	if va.Version != vb.Version {
		d.VersionChanges = append(d.VersionChanges, FieldChange{Field: "build version", A: va.Version, B: vb.Version})
	}
	fa, fb := files(a.Tree), files(b.Tree)
	for _, p := range sortedKeys(fa) {
		na, nb := fa[p], fb[p]
		if nb == nil {
			d.FilesRemoved = append(d.FilesRemoved, File{p, na.SHA256, na.Size})
			continue
		}
		if na.SHA256 != nb.SHA256 {
			d.FilesChanged = append(d.FilesChanged, FileChange{p, na.SHA256, nb.SHA256, na.Size, nb.Size})
		}
		d.VersionChanges = append(d.VersionChanges, versionChanges(p, na, nb)...)
		ra, rb := nodeRules(na), nodeRules(nb)
		for _, r := range minus(rb, ra) {
			d.MatchesGained = append(d.MatchesGained, NodeRuleDiff{p, r})
		}
		for _, r := range minus(ra, rb) {
			d.MatchesLost = append(d.MatchesLost, NodeRuleDiff{p, r})
		}
	}
	for _, p := range sortedKeys(fb) {
		if fa[p] == nil {
			nb := fb[p]
			d.FilesAdded = append(d.FilesAdded, File{p, nb.SHA256, nb.Size})
			for _, r := range sortedKeys(nodeRules(nb)) {
				d.MatchesGained = append(d.MatchesGained, NodeRuleDiff{p, r})
			}
		}
	}
	d.FilesAdded, d.FilesRemoved, d.FilesMoved = moves(d.FilesAdded, d.FilesRemoved)
	d.KeywordLists = listChanges(va, vb)
	ea, eb := endpoints(va), endpoints(vb)
	d.EndpointsAdded, d.EndpointsGone = minus(eb, ea), minus(ea, eb)
	ka, kb := keywords(va), keywords(vb)
	d.KeywordsAdded, d.KeywordsGone = minus(kb, ka), minus(ka, kb)
	ra, rb := set(va.Rules), set(vb.Rules)
	d.RulesGained, d.RulesLost = minus(rb, ra), minus(ra, rb)
	return d
}

// moves pairs removed and added files with the same sha256 (in path
// order, one to one) as moves; what is left stays added or removed.
func moves(added, removed []File) ([]File, []File, []Move) {
	gone := map[string][]File{}
	for _, f := range removed {
		if f.SHA256 != "" {
			gone[f.SHA256] = append(gone[f.SHA256], f)
		}
	}
	used := map[string]bool{}
	var keptAdded []File
	var mv []Move
	for _, f := range added {
		if cands := gone[f.SHA256]; f.SHA256 != "" && len(cands) > 0 {
			from := cands[0]
			gone[f.SHA256] = cands[1:]
			used[from.Path] = true
			mv = append(mv, Move{From: from.Path, To: f.Path, SHA256: f.SHA256, Size: f.Size})
			continue
		}
		keptAdded = append(keptAdded, f)
	}
	var keptRemoved []File
	for _, f := range removed {
		if !used[f.Path] {
			keptRemoved = append(keptRemoved, f)
		}
	}
	return keptAdded, keptRemoved, mv
}

// listChanges compares the keyword lists role by role (the list's name:
// keyfile, keyfile_u); two lists of one role in a build are one set.
func listChanges(va, vb *reports.View) []ListChange {
	byRole := func(v *reports.View) map[string]map[string]bool {
		m := map[string]map[string]bool{}
		for _, kl := range v.KeywordLists {
			if m[kl.Name] == nil {
				m[kl.Name] = map[string]bool{}
			}
			for _, k := range kl.Keywords {
				m[kl.Name][k] = true
			}
		}
		return m
	}
	ra, rb := byRole(va), byRole(vb)
	var out []ListChange
	for _, role := range sortedKeys(union(ra, rb)) {
		a, b := ra[role], rb[role]
		if a == nil {
			a = map[string]bool{}
		}
		if b == nil {
			b = map[string]bool{}
		}
		c := ListChange{List: role, CountA: len(a), CountB: len(b), Added: minus(b, a), Removed: minus(a, b)}
		if len(c.Added)+len(c.Removed) > 0 {
			out = append(out, c)
		}
	}
	return out
}

func side(key string, v *reports.View) Side {
	return Side{Key: key, Path: v.Path, Version: v.Version, Verdict: v.Verdict, Status: v.Status}
}

// files maps each node's path below the build file to the node. The build
// file itself is "". A path seen twice (a container listing the same name
// twice) keeps its first node, in tree order.
func files(root *artifact.Node) map[string]*artifact.Node {
	m := map[string]*artifact.Node{}
	if root == nil {
		return m
	}
	_ = root.Walk(func(n *artifact.Node) error {
		p := ""
		if len(n.Path) > 1 {
			p = strings.Join(n.Path[1:], artifact.PathSeparator)
		}
		if _, ok := m[p]; !ok {
			m[p] = n
		}
		return nil
	})
	return m
}

func versionChanges(path string, a, b *artifact.Node) []FieldChange {
	va, vb := versionFields(a), versionFields(b)
	var out []FieldChange
	for _, f := range sortedKeys(union(va, vb)) {
		if va[f] != vb[f] {
			out = append(out, FieldChange{Node: path, Field: f, A: va[f], B: vb[f]})
		}
	}
	return out
}

func versionFields(n *artifact.Node) map[string]string {
	m := appFields(n) // ios.go: an IPA's declarations and a Mach-O's capabilities
	if n.PE == nil || n.PE.Version == nil {
		return m
	}
	v := n.PE.Version
	if v.FileVersion != "" {
		m["FileVersion (fixed)"] = v.FileVersion
	}
	if v.ProductVersion != "" {
		m["ProductVersion (fixed)"] = v.ProductVersion
	}
	for _, t := range v.Tables {
		for _, s := range t.Strings {
			m[t.Key+"/"+s.Key] = s.Value
		}
	}
	return m
}

func nodeRules(n *artifact.Node) map[string]bool {
	m := map[string]bool{}
	for _, r := range n.Matches {
		m[r.Namespace+":"+r.Rule] = true
	}
	return m
}

func endpoints(v *reports.View) map[string]bool {
	m := map[string]bool{}
	for _, e := range v.Endpoints {
		m[e.Value] = true
	}
	return m
}

func keywords(v *reports.View) map[string]bool {
	m := map[string]bool{}
	for _, kl := range v.KeywordLists {
		for _, k := range kl.Keywords {
			m[k] = true
		}
	}
	return m
}

func set(l []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range l {
		m[s] = true
	}
	return m
}

func union[V any](a, b map[string]V) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// minus lists the keys of a not in b, sorted.
func minus(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Empty tells whether the two builds show no difference.
func (d *Diff) Empty() bool {
	return len(d.VersionChanges)+len(d.FilesAdded)+len(d.FilesRemoved)+len(d.FilesChanged)+len(d.FilesMoved)+len(d.KeywordLists)+
		len(d.EndpointsAdded)+len(d.EndpointsGone)+len(d.KeywordsAdded)+len(d.KeywordsGone)+
		len(d.RulesGained)+len(d.RulesLost)+len(d.MatchesGained)+len(d.MatchesLost) == 0 &&
		d.A.Verdict == d.B.Verdict
}

// JSON renders d as indented JSON; nil lists are written as [].
func (d *Diff) JSON() ([]byte, error) {
	c := *d
	for _, l := range []*[]string{&c.EndpointsAdded, &c.EndpointsGone, &c.KeywordsAdded, &c.KeywordsGone, &c.RulesGained, &c.RulesLost} {
		if *l == nil {
			*l = []string{}
		}
	}
	if c.VersionChanges == nil {
		c.VersionChanges = []FieldChange{}
	}
	if c.FilesAdded == nil {
		c.FilesAdded = []File{}
	}
	if c.FilesRemoved == nil {
		c.FilesRemoved = []File{}
	}
	if c.FilesChanged == nil {
		c.FilesChanged = []FileChange{}
	}
	if c.FilesMoved == nil {
		c.FilesMoved = []Move{}
	}
	if c.KeywordLists == nil {
		c.KeywordLists = []ListChange{}
	}
	for i := range c.KeywordLists {
		l := c.KeywordLists[i]
		if l.Added == nil {
			l.Added = []string{}
		}
		if l.Removed == nil {
			l.Removed = []string{}
		}
		c.KeywordLists[i] = l
	}
	if c.MatchesGained == nil {
		c.MatchesGained = []NodeRuleDiff{}
	}
	if c.MatchesLost == nil {
		c.MatchesLost = []NodeRuleDiff{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("diff: encode json: %w", err)
	}
	return buf.Bytes(), nil
}

// Text renders d for a terminal; every string from a binary goes through
// reports.Terminal.
func (d *Diff) Text() []byte {
	var b bytes.Buffer
	t := reports.Terminal
	fmt.Fprintf(&b, "A: %s  %s  version %s  verdict %s\n", t(short(d.A.Key)), t(d.A.Path), t(dash(d.A.Version)), t(dash(d.A.Verdict)))
	fmt.Fprintf(&b, "B: %s  %s  version %s  verdict %s\n", t(short(d.B.Key)), t(d.B.Path), t(dash(d.B.Version)), t(dash(d.B.Verdict)))
	if d.A.Verdict != d.B.Verdict {
		fmt.Fprintf(&b, "\nverdict: %s -> %s\n", t(dash(d.A.Verdict)), t(dash(d.B.Verdict)))
	}
	list := func(title string, sign string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s (%d):\n", title, len(items))
		for _, s := range items {
			fmt.Fprintf(&b, "  %s %s\n", sign, t(s))
		}
	}
	if len(d.VersionChanges) > 0 {
		// a table padded by display width (termtable): Chinese values align
		fmt.Fprintf(&b, "\nversion info changes (%d):\n", len(d.VersionChanges))
		rows := [][]string{{"  FILE", "FIELD", "A", "B"}}
		for _, c := range d.VersionChanges {
			rows = append(rows, []string{"  " + t(nodeName(c.Node)), t(c.Field), t(strconv.Quote(c.A)), t(strconv.Quote(c.B))})
		}
		b.WriteString(termtable.Format(rows, 2))
	}
	var added, removed, changed []string
	for _, f := range d.FilesAdded {
		added = append(added, fmt.Sprintf("%s (%d bytes)", f.Path, f.Size))
	}
	for _, f := range d.FilesRemoved {
		removed = append(removed, fmt.Sprintf("%s (%d bytes)", f.Path, f.Size))
	}
	for _, f := range d.FilesChanged {
		changed = append(changed, fmt.Sprintf("%s (%s %d bytes -> %s %d bytes)", nodeName(f.Path), short(f.SHA_A), f.SizeA, short(f.SHA_B), f.SizeB))
	}
	var moved []string
	for _, m := range d.FilesMoved {
		moved = append(moved, fmt.Sprintf("%s -> %s (%s, %d bytes)", m.From, m.To, short(m.SHA256), m.Size))
	}
	list("files added", "+", added)
	list("files removed", "-", removed)
	list("files changed", "~", changed)
	list("files moved", ">", moved)
	list("endpoints added", "+", d.EndpointsAdded)
	list("endpoints removed", "-", d.EndpointsGone)
	for _, l := range d.KeywordLists {
		list(fmt.Sprintf("%s: keywords added (%d -> %d)", t(l.List), l.CountA, l.CountB), "+", l.Added)
		list(fmt.Sprintf("%s: keywords removed (%d -> %d)", t(l.List), l.CountA, l.CountB), "-", l.Removed)
	}
	list("keywords added, all lists", "+", d.KeywordsAdded)
	list("keywords removed, all lists", "-", d.KeywordsGone)
	list("rules gained", "+", d.RulesGained)
	list("rules lost", "-", d.RulesLost)
	var gained, lost []string
	for _, m := range d.MatchesGained {
		gained = append(gained, m.Rule+" on "+nodeName(m.Path))
	}
	for _, m := range d.MatchesLost {
		lost = append(lost, m.Rule+" on "+nodeName(m.Path))
	}
	list("rule matches gained", "+", gained)
	list("rule matches lost", "-", lost)
	if d.Empty() {
		b.WriteString("\nno differences\n")
	}
	return b.Bytes()
}

// page is parsed on first use, not at every process start.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("diff").Funcs(reports.TemplateFuncs).Funcs(template.FuncMap{"node": nodeName, "lists": listArgs,
		// Side.Report is set by the caller from where the reports are, never
		// from a report's content: a file:// URL html/template would refuse
		"link": func(s string) template.URL { return template.URL(s) }}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>tomscan diff: {{.D.A.Path}} → {{.D.B.Path}}</title><style>{{.CSS}}</style></head><body>
<h1>tomscan diff</h1>
{{define "side"}}<tr><th>{{.Name}}</th><td>{{if .S.Report}}<a href="{{link .S.Report}}" class="mono">{{.S.Path}}</a>{{else}}<span class="mono">{{.S.Path}}</span>{{end}}<br><small class="mono">{{.S.Key}}</small></td><td>{{or .S.Version "unknown"}}</td><td><span class="badge {{verdictClass .S.Verdict}}">{{or .S.Verdict "no verdict"}}</span></td><td class="status-{{.S.Status}}">{{.S.Status}}</td></tr>{{end}}
<table id="sides"><tr><th style="width:2em"></th><th>build</th><th style="width:9em">version</th><th style="width:14em">verdict</th><th style="width:7em">status</th></tr>
{{template "side" (lists "A" "" "" nil .D.A)}}
{{template "side" (lists "B" "" "" nil .D.B)}}
</table>
{{if .D.Empty}}<p id="no-differences">No differences.</p>{{else}}<p id="summary">{{if ne .D.A.Verdict .D.B.Verdict}}Verdict changed. {{end}}{{len .D.VersionChanges}} version-info changes; files: {{len .D.FilesAdded}} added, {{len .D.FilesRemoved}} removed, {{len .D.FilesChanged}} changed, {{len .D.FilesMoved}} moved; endpoints: {{len .D.EndpointsAdded}} added, {{len .D.EndpointsGone}} removed; keywords: {{len .D.KeywordsAdded}} added, {{len .D.KeywordsGone}} removed over all lists.</p>{{end}}
{{if .D.KeywordLists}}<h2>Keyword lists, per list</h2>
<table id="keyword-lists"><tr><th>list</th><th class="num">keywords in A</th><th class="num">keywords in B</th><th class="num">added</th><th class="num">removed</th></tr>
{{range .D.KeywordLists}}<tr><td>{{.List}}</td><td class="num">{{.CountA}}</td><td class="num">{{.CountB}}</td><td class="num add">+{{len .Added}}</td><td class="num del">−{{len .Removed}}</td></tr>
{{end}}</table>
{{range .D.KeywordLists}}<h3>{{.List}}</h3><table class="kw-change" data-list="{{.List}}"><tr><th>added in B ({{len .Added}})</th><th>removed from A ({{len .Removed}})</th></tr>
<tr><td><ul class="kw add">{{range .Added}}<li{{if han .}} lang="zh"{{end}}>{{entry .}}</li>{{end}}</ul></td><td><ul class="kw del">{{range .Removed}}<li{{if han .}} lang="zh"{{end}}>{{entry .}}</li>{{end}}</ul></td></tr></table>
{{end}}{{end}}
{{define "list"}}{{if .Items}}<h2>{{.Title}} ({{len .Items}})</h2><ul id="{{.ID}}">{{range .Items}}<li class="{{$.Class}} mono"{{if han .}} lang="zh"{{end}}>{{.}}</li>{{end}}</ul>{{end}}{{end}}
{{template "list" (lists "endpoints added" "endpoints-added" "add" .D.EndpointsAdded)}}
{{template "list" (lists "endpoints removed" "endpoints-removed" "del" .D.EndpointsGone)}}
{{template "list" (lists "rules gained" "rules-gained" "add" .D.RulesGained)}}
{{template "list" (lists "rules lost" "rules-lost" "del" .D.RulesLost)}}
{{if .D.VersionChanges}}<h2>Version info changes</h2><table id="version-changes"><tr><th>file</th><th>field</th><th>A</th><th>B</th></tr>
{{range .D.VersionChanges}}<tr><td class="mono">{{node .Node}}</td><td>{{.Field}}</td><td>{{.A}}</td><td>{{.B}}</td></tr>{{end}}</table>{{end}}
{{if or .D.FilesAdded .D.FilesRemoved .D.FilesChanged .D.FilesMoved}}<h2>Files</h2><table id="files"><tr><th style="width:6em">change</th><th>path</th><th style="width:16em">sha256</th><th class="num" style="width:10em">size</th></tr>
{{range .D.FilesAdded}}<tr class="add"><td>+ added</td><td class="mono">{{.Path}}</td><td class="mono">{{short .SHA256}}</td><td class="num">{{.Size}}</td></tr>{{end}}
{{range .D.FilesRemoved}}<tr class="del"><td>− removed</td><td class="mono">{{.Path}}</td><td class="mono">{{short .SHA256}}</td><td class="num">{{.Size}}</td></tr>{{end}}
{{range .D.FilesMoved}}<tr class="move"><td>→ moved</td><td class="mono">{{.From}} → {{.To}}</td><td class="mono">{{short .SHA256}}</td><td class="num">{{.Size}}</td></tr>{{end}}
{{range .D.FilesChanged}}<tr><td>~ changed</td><td class="mono">{{node .Path}}</td><td class="mono">{{short .SHA_A}} → {{short .SHA_B}}</td><td class="num">{{.SizeA}} → {{.SizeB}}</td></tr>{{end}}
</table>{{end}}
{{if or .D.MatchesGained .D.MatchesLost}}<h2>Rule matches per file</h2><table id="matches"><tr><th style="width:6em"></th><th>file</th><th>rule</th></tr>
{{range .D.MatchesGained}}<tr class="add"><td>+ gained</td><td class="mono">{{node .Path}}</td><td>{{.Rule}}</td></tr>{{end}}
{{range .D.MatchesLost}}<tr class="del"><td>− lost</td><td class="mono">{{node .Path}}</td><td>{{.Rule}}</td></tr>{{end}}
</table>{{end}}
</body></html>
`))
})

// HTML renders d as a self-contained page (inline CSS, no script).
func (d *Diff) HTML() ([]byte, error) {
	safe := d.sanitized()
	var b bytes.Buffer
	if err := page().Execute(&b, struct {
		D   *Diff
		CSS template.CSS
	}{safe, reports.CSS}); err != nil {
		return nil, fmt.Errorf("diff: render html: %w", err)
	}
	return b.Bytes(), nil
}

// listArgs bundles the arguments of the "list" and "side" templates.
func listArgs(title, id, class string, items []string, side ...Side) map[string]any {
	m := map[string]any{"Title": title, "Name": title, "ID": id, "Class": class, "Items": items}
	if len(side) > 0 {
		m["S"] = side[0]
	}
	return m
}

// sanitized returns a copy of d with every string made terminal-safe, so
// control and bidi characters show as escapes in the page as well.
func (d *Diff) sanitized() *Diff {
	t := reports.Terminal
	c := *d
	strs := func(l []string) []string {
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = t(s)
		}
		return out
	}
	c.A = Side{t(d.A.Key), t(d.A.Path), t(d.A.Version), t(d.A.Verdict), t(d.A.Status), d.A.Report}
	c.B = Side{t(d.B.Key), t(d.B.Path), t(d.B.Version), t(d.B.Verdict), t(d.B.Status), d.B.Report}
	c.EndpointsAdded, c.EndpointsGone = strs(d.EndpointsAdded), strs(d.EndpointsGone)
	c.KeywordsAdded, c.KeywordsGone = strs(d.KeywordsAdded), strs(d.KeywordsGone)
	c.RulesGained, c.RulesLost = strs(d.RulesGained), strs(d.RulesLost)
	c.VersionChanges = nil
	for _, v := range d.VersionChanges {
		c.VersionChanges = append(c.VersionChanges, FieldChange{t(v.Node), t(v.Field), t(v.A), t(v.B)})
	}
	files := func(l []File) []File {
		var out []File
		for _, f := range l {
			out = append(out, File{t(f.Path), f.SHA256, f.Size})
		}
		return out
	}
	c.FilesAdded, c.FilesRemoved = files(d.FilesAdded), files(d.FilesRemoved)
	c.FilesChanged = nil
	for _, f := range d.FilesChanged {
		f.Path = t(f.Path)
		c.FilesChanged = append(c.FilesChanged, f)
	}
	c.FilesMoved = nil
	for _, m := range d.FilesMoved {
		c.FilesMoved = append(c.FilesMoved, Move{t(m.From), t(m.To), m.SHA256, m.Size})
	}
	c.KeywordLists = nil
	for _, l := range d.KeywordLists {
		c.KeywordLists = append(c.KeywordLists, ListChange{t(l.List), l.CountA, l.CountB, strs(l.Added), strs(l.Removed)})
	}
	rules := func(l []NodeRuleDiff) []NodeRuleDiff {
		var out []NodeRuleDiff
		for _, m := range l {
			out = append(out, NodeRuleDiff{t(m.Path), t(m.Rule)})
		}
		return out
	}
	c.MatchesGained, c.MatchesLost = rules(d.MatchesGained), rules(d.MatchesLost)
	return &c
}

func nodeName(p string) string {
	if p == "" {
		return "(build file)"
	}
	return p
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
