// Package unpack is the recursive unpacking engine. Extractors, one package
// each under this folder, list the direct children of one container format;
// the engine alone recurses, charges the build's budget, vets entry names,
// decides what stays in memory and what spills to disk, and records every
// limit hit as an issue on the node where it happened.
package unpack

import (
	"context"
	"errors"
	"io"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/pe"
)

// Extractor lists the direct children of one container format.
type Extractor interface {
	// Name is the extractor's report name: "zip", "cab", "msi", "nsis" ...
	Name() string
	// Match is a cheap sniff of the container's head and size: no I/O.
	Match(head []byte, size int64) bool
	// Extract emits each child through sink. What was emitted before an error
	// is kept; the error becomes an issue on the container's node.
	Extract(ctx context.Context, in Input, sink Sink) error
}

// TreeLinker is an extractor that relates nodes once the whole build is
// unpacked: facts that span siblings, such as an MSI's external cabinet
// unpacked beside it. It may annotate nodes (meta, installer tables,
// issues) but never adds or reads bytes.
type TreeLinker interface {
	LinkTree(root *artifact.Node)
}

// Input is the container handed to an extractor.
type Input struct {
	Node    *artifact.Node // read-only to extractors: use Sink to add to it
	Blob    *artifact.Blob
	Scratch *scratch.Root // for external tools' output; never write elsewhere
	Limits  limits.Limits
	Tools   Tools
	// Passwords are tried, in order, on encrypted archives.
	Passwords []Password
}

// Tools locates the external programs some extractors drive. An empty path
// means "not installed": the extractor reports KindToolMissing.
type Tools struct {
	SevenZip    string // 7z
	Innoextract string
	Msiinfo     string // msitools' msiinfo, for MSI tables
	Cabextract  string
	Unshield    string
	Unar        string // RAR and StuffIt (toolarc)
}

// Entry is one child as the container lists it. Name is data, never a path:
// the engine vets it and never uses it to name anything on disk.
type Entry struct {
	Name string
	Size int64 // as declared by the container; -1 when unknown
	Meta map[string]string
	Body io.Reader // the child's bytes; read once, by the engine, through a limit
}

// Sink receives what an extractor finds.
type Sink interface {
	// Emit hands over one child. It returns ErrStop when the extractor must
	// stop listing (a limit on the container was hit, or the build ended).
	Emit(ctx context.Context, e Entry) error
	// Installer records what the installer would do (tables, script).
	Installer(info *artifact.Installer)
	// Signature records an Authenticode signature of the container itself.
	Signature(sig *pe.Signature)
	// Issue records something the extractor could not do but that did not end it.
	Issue(kind, message string)
}

// ErrStop tells an extractor to stop listing children.
var ErrStop = errors.New("unpack: stop listing")
