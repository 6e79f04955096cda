// Package artifact is the tree of one build: a Node per file, whose identity
// is its path chain through the containers that hold it. Nodes are plain data
// that the report serialises; children are kept sorted so IDs and output are
// deterministic whatever the extraction order.
package artifact

import (
	"sort"
	"strings"

	"github.com/tomscan/tomscan/internal/ios"
	"github.com/tomscan/tomscan/macho"
	"github.com/tomscan/tomscan/pe"
)

// PathSeparator joins the elements of a path chain into a node ID. Entry
// names inside one container may themselves contain "/" (folders in a ZIP);
// "!" marks the step from a container into its content, as ClamAV and Java
// archive URLs do.
const PathSeparator = "!"

// Node is one file of a build: the build itself, or something found inside it.
type Node struct {
	ID          string            `json:"id"`
	Path        []string          `json:"path"`
	Name        string            `json:"name"`
	Extractor   string            `json:"extractor,omitempty"` // the extractor that found this node in its parent
	Depth       int               `json:"depth"`
	Size        int64             `json:"size"`
	MD5         string            `json:"md5"`
	SHA1        string            `json:"sha1"`
	SHA256      string            `json:"sha256"`
	Type        string            `json:"type"`
	Meta        map[string]string `json:"meta,omitempty"`         // extractor-provided facts: install path, compression, dates
	DuplicateOf string            `json:"duplicate_of,omitempty"` // ID of the node with the same sha256 that was analysed
	Container   string            `json:"container,omitempty"`    // the extractor that listed this node's children
	Installer   *Installer        `json:"installer,omitempty"`
	Signature   *pe.Signature     `json:"signature,omitempty"` // Authenticode of non-PE containers (MSI, CAB)
	PE          *pe.Summary       `json:"pe,omitempty"`
	MachO       *macho.Summary    `json:"macho,omitempty"` // Mach-O, thin or universal
	IOS         *ios.App          `json:"ios,omitempty"`   // an IPA's app bundle: Info.plist, store metadata, profile
	Strings     *pe.StringSet     `json:"strings,omitempty"`
	Matches     []Match           `json:"matches,omitempty"`
	Findings    []Finding         `json:"findings,omitempty"`
	Issues      []Issue           `json:"issues,omitempty"`
	Children    []*Node           `json:"children,omitempty"`

	blob *Blob
}

// Issue is a typed record of anything that did not go to plan on a node: a
// limit hit, a parser error, a missing tool, an unsafe name. An empty result
// is never mistaken for "clean" because every skip leaves one of these.
type Issue struct {
	Kind    string `json:"kind"`    // see the Kind* constants
	Stage   string `json:"stage"`   // "read", "unpack:zip", "pe", "strings", "yara", "tom"
	Message string `json:"message"` // human-readable, with the underlying error
}

// Issue kinds.
const (
	KindLimit       = "limit"
	KindUnsafeName  = "unsafe-name"
	KindExtract     = "extract-error"
	KindParse       = "parse-error"
	KindToolMissing = "tool-missing"
	KindUnsupported = "unsupported"
	KindTimeout     = "timeout"
	KindRead        = "read-error"
	KindScan        = "scan-error"
	KindPanic       = "panic"
	// KindWorkerCrashed: the worker process scanning the build died (memory
	// cap, signal, Go runtime fatal error, crash in C code); the build is
	// not analysed, and is reported failed.
	KindWorkerCrashed = "worker-crashed"
	// KindEncrypted: the content is encrypted and no password of the list
	// opened it (ZIP ZipCrypto/WinZip AES, 7z AES).
	KindEncrypted = "encrypted"
	// KindUnsupportedFormat: the magic names an archive, image or installer
	// format that no extractor reads; the message names the format.
	KindUnsupportedFormat = "unsupported-format"
	KindTruncated         = "truncated" // the file ends before what its headers declare (expected and actual sizes in the message)
	// KindMalformed: a size, count or offset the container declares disagrees
	// with its bytes (the message names the field); what fits is still read.
	KindMalformed = "malformed"
)

// Match is one YARA rule that matched a node.
type Match struct {
	Rule      string            `json:"rule"`
	Namespace string            `json:"namespace"`
	Tags      []string          `json:"tags,omitempty"`
	Meta      map[string]string `json:"meta,omitempty"`
	Strings   []MatchString     `json:"strings,omitempty"`
}

// MatchString is one string occurrence behind a match.
type MatchString struct {
	Name   string `json:"name"`
	Offset uint64 `json:"offset"`
	Data   string `json:"data"` // matched bytes, Go-quoted when not printable UTF-8
}

// Finding is an analyser's statement about a node, with where it saw it.
type Finding struct {
	Analyzer string            `json:"analyzer"`
	Kind     string            `json:"kind"`
	Value    string            `json:"value"`
	Offset   int64             `json:"offset"`
	Detail   map[string]string `json:"detail,omitempty"`
}

// Installer is what an installer would do when run, as its own tables or
// script say: where files go, what registry keys it writes, what it starts.
type Installer struct {
	Format string           `json:"format"`           // "nsis", "msi", "inno"
	Script string           `json:"script,omitempty"` // NSIS: the script our header decoder reconstructs
	Tables map[string]Table `json:"tables,omitempty"` // MSI tables; Inno sections
}

// Table is a named table of an installer, rows in the installer's order.
type Table struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// NewRoot returns the node of a build's top-level file.
func NewRoot(name string) *Node {
	return &Node{ID: name, Path: []string{name}, Name: name}
}

// NewChild returns a node for entry name found in n by extractor.
func (n *Node) NewChild(name, extractor string) *Node {
	path := append(append([]string(nil), n.Path...), name)
	return &Node{
		ID:        strings.Join(path, PathSeparator),
		Path:      path,
		Name:      name,
		Extractor: extractor,
		Depth:     n.Depth + 1,
	}
}

// AddIssue records an issue on n.
func (n *Node) AddIssue(kind, stage, msg string) {
	n.Issues = append(n.Issues, Issue{Kind: kind, Stage: stage, Message: msg})
}

// SetBlob attaches the bytes of n. They are never serialised.
func (n *Node) SetBlob(b *Blob) { n.blob = b }

// Blob returns the bytes of n, or nil once released or never read.
func (n *Node) Blob() *Blob { return n.blob }

// SortChildren orders children by name, then by ID, recursively, so the tree
// is the same whatever order extractors or workers produced it in.
func (n *Node) SortChildren() {
	sort.SliceStable(n.Children, func(i, j int) bool {
		a, b := n.Children[i], n.Children[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.SHA256 < b.SHA256
	})
	for _, c := range n.Children {
		c.SortChildren()
	}
}

// Walk calls fn for n and every descendant, parents first, in tree order.
func (n *Node) Walk(fn func(*Node) error) error {
	if err := fn(n); err != nil {
		return err
	}
	for _, c := range n.Children {
		if err := c.Walk(fn); err != nil {
			return err
		}
	}
	return nil
}
