package unpack

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/pe"
)

// Visitor analyses one node (PE, strings, YARA) once the engine has hashed
// and typed it and before its children are listed. It records its own
// failures as issues on the node.
type Visitor func(ctx context.Context, n, parent *artifact.Node)

// Engine drives the extractors over one build's tree.
type Engine struct {
	extractors []Extractor
	tools      Tools
	passwords  []Password
}

// New returns an engine that tries extractors in the given order.
func New(extractors []Extractor, tools Tools) *Engine {
	return &Engine{extractors: extractors, tools: tools, passwords: DefaultPasswords()}
}

// WithPasswords sets the list tried on encrypted archives (DefaultPasswords
// unless set) and returns e.
func (e *Engine) WithPasswords(p []Password) *Engine {
	e.passwords = p
	return e
}

// Extractors lists the engine's extractors' names, in order, for reports.
func (e *Engine) Extractors() []string {
	var names []string
	for _, x := range e.extractors {
		names = append(names, x.Name())
	}
	return names
}

// build is the state of one Run.
type build struct {
	engine  *Engine
	limits  limits.Limits
	budget  *limits.Budget
	scratch *scratch.Root
	visit   Visitor
	seen    map[string]*artifact.Node // sha256 -> first node analysed
	digests digests                   // MD5 and SHA-1 (digest.go)
	// entryBuf is where an entry small enough for memory is read first,
	// reused from entry to entry: an entry that repeats earlier bytes is
	// known by its SHA-256 before anything is allocated for it, and a new
	// one is copied out at its size (sink.read, process).
	entryBuf []byte
}

// Run identifies root (whose blob must be set), visits it, and unpacks it
// recursively. It never fails: everything that goes wrong is an issue on the
// node concerned.
func (e *Engine) Run(ctx context.Context, root *artifact.Node, budget *limits.Budget, sc *scratch.Root, visit Visitor) {
	e.RunBeside(ctx, root, budget, sc, visit, nil)
}

// RunBeside is Run with cores lent by spare for the MD5 and SHA-1 of the
// nodes (digest.go); a nil spare makes it Run.
func (e *Engine) RunBeside(ctx context.Context, root *artifact.Node, budget *limits.Budget, sc *scratch.Root, visit Visitor, spare Spare) {
	b := &build{engine: e, limits: budget.Limits(), budget: budget, scratch: sc, visit: visit, seen: map[string]*artifact.Node{}}
	b.digests.spare = spare
	defer b.digests.finish() // after a panic too: no goroutine may still write a digest
	if err := budget.ChargeNode(); err != nil {
		root.AddIssue(artifact.KindLimit, "unpack", err.Error())
	}
	b.process(ctx, root, nil, false)
	b.digests.finish()
	for _, x := range e.extractors {
		if l, ok := x.(TreeLinker); ok {
			safeLink(root, x.Name(), l)
		}
	}
	root.SortChildren()
}

// safeLink runs one linker; a panic becomes an issue on the root, as for
// extractors.
func safeLink(root *artifact.Node, name string, l TreeLinker) {
	defer func() {
		if r := recover(); r != nil {
			root.AddIssue(artifact.KindPanic, "unpack:"+name, fmt.Sprintf("%v: linking the tree: %v", errPanic, r))
		}
	}()
	l.LinkTree(root)
}

// process identifies, visits and unpacks n, then releases its bytes. A
// borrowed blob is the build's entryBuf: it is copied before anything may
// keep it or read another entry.
func (b *build) process(ctx context.Context, n *artifact.Node, parent *artifact.Node, borrowed bool) {
	blob := n.Blob()
	if blob == nil {
		return
	}
	defer n.SetBlob(nil)
	// A SHA-256 already in the node is the caller's (the parent hashed the
	// input to key the build): it spares the walk a pass over a large
	// input, and it is checked against the bytes, never trusted. With
	// the SHA-1 (and maybe the MD5) too, the caller vouches for them: it
	// made them and checks that the bytes have not changed since (the
	// pipeline compares the input file's stamp), and they are taken; a
	// missing MD5 is made as for any node.
	claimed := n.SHA256
	vouched := claimed != "" && n.SHA1 != ""
	n.SHA256 = ""
	var wait func()
	if claimed != "" && !vouched {
		wait = b.digests.startClaimed(n, blob, claimed)
	}
	if wait != nil {
		defer wait() // before the blob is released
	}
	if vouched || wait != nil {
		n.SHA256, n.Size, n.Type = claimed, blob.Size(), filetype.Sniff(blob.Head(filetype.HeadSize))
	} else {
		// A spilled blob with no spare core is hashed in one pass, all
		// three digests side by side, as it is read once.
		if err := identify(n, blob, !blob.InMemory() && b.digests.spare == nil); err != nil {
			n.AddIssue(artifact.KindRead, "read", err.Error())
			return
		}
		if claimed != "" && n.SHA256 != claimed {
			n.AddIssue(artifact.KindRead, "read", changedSince(claimed, n.SHA256))
		}
	}
	if first, ok := b.seen[n.SHA256]; ok {
		// Same bytes seen earlier in this build: list the place, analyse once.
		n.DuplicateOf = first.ID
		b.digests.repeat(n, first)
		return
	}
	b.seen[n.SHA256] = n
	if borrowed {
		blob = artifact.MemoryBlob(b.keep(blob))
		n.SetBlob(blob)
	}
	if n.MD5 == "" && wait == nil {
		defer b.digests.start(n, blob)() // before the blob is released
	}
	if b.visit != nil {
		b.visit(ctx, n, parent)
	}
	if err := ctx.Err(); err != nil {
		n.AddIssue(artifact.KindTimeout, "unpack", fmt.Sprintf("build deadline reached before unpacking: %v", err))
		return
	}
	b.unpack(ctx, n, blob)
}

// keep returns the bytes of a borrowed blob (read into entryBuf) for a node
// to keep. A buffer its size is handed over as it is, and the next entry
// gets a new one: a copy would be one more pass over every new entry's
// bytes. One much larger than its bytes (grown by an earlier, larger entry)
// stays the build's, and the bytes are copied out at their size.
func (b *build) keep(borrowed *artifact.Blob) []byte {
	data, _ := borrowed.Bytes(borrowed.Size()) // in memory: never fails
	buf := b.entryBuf[:cap(b.entryBuf)]
	if len(data) == 0 || len(buf) == 0 || &data[0] != &buf[0] || cap(data)-len(data) > len(data)/8+4096 {
		return bytes.Clone(data)
	}
	b.entryBuf = nil
	return data[:len(data):len(data)]
}

// identify hashes and types n from its blob: its SHA-256, and with all its
// MD5 and SHA-1 too (else they are made by digests).
func identify(n *artifact.Node, blob *artifact.Blob, all bool) error {
	h256 := sha256.New()
	hs := []hash.Hash{h256}
	var hm, h1 hash.Hash
	if all {
		hm, h1 = md5.New(), sha1.New()
		hs = append(hs, hm, h1)
	}
	size, err := hashAll(blob, hs...)
	if err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	n.Size = size
	n.SHA256 = hex.EncodeToString(h256.Sum(nil))
	if all {
		n.MD5 = hex.EncodeToString(hm.Sum(nil))
		n.SHA1 = hex.EncodeToString(h1.Sum(nil))
	}
	n.Type = filetype.Sniff(blob.Head(filetype.HeadSize))
	return nil
}

// hashChunk is how many bytes of a large blob are hashed at a time; below
// it the three hashes run one after the other.
const hashChunk = 1 << 20

// hashAll feeds the blob's bytes to every hash and returns their number.
// The hashes of a large blob run side by side, one goroutine each: every
// node is hashed by the walk, the one part of a build that cannot spread
// over several cores, and MD5 alone runs at well under a GB/s.
func hashAll(blob *artifact.Blob, hs ...hash.Hash) (int64, error) {
	if blob.Size() < hashChunk {
		w := io.MultiWriter(func() []io.Writer {
			ws := make([]io.Writer, len(hs))
			for i, h := range hs {
				ws[i] = h
			}
			return ws
		}()...)
		return io.Copy(w, blob.Reader())
	}
	var wg sync.WaitGroup
	if blob.InMemory() {
		data, _ := blob.Bytes(blob.Size()) // in memory: never fails
		for _, h := range hs[1:] {
			wg.Go(func() { h.Write(data) })
		}
		hs[0].Write(data)
		wg.Wait()
		return int64(len(data)), nil
	}
	r := blob.Reader()
	buf := make([]byte, 4*hashChunk)
	var size int64
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			chunk := buf[:k]
			for _, h := range hs[1:] {
				wg.Go(func() { h.Write(chunk) })
			}
			hs[0].Write(chunk)
			wg.Wait()
			size += int64(k)
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return size, nil
		case err != nil:
			return size, err
		}
	}
}

// unpack tries the matching extractors in order; the first that lists any
// child wins. One that fails without children leaves an issue and the next is
// tried, so a damaged container still gets every chance.
func (b *build) unpack(ctx context.Context, n *artifact.Node, blob *artifact.Blob) {
	head := blob.Head(filetype.HeadSize)
	matched := ""
	issues := len(n.Issues)
	for _, x := range b.engine.extractors {
		if !x.Match(head, blob.Size()) {
			continue
		}
		if matched == "" {
			matched = x.Name()
		}
		if n.Depth >= b.limits.MaxDepth {
			n.AddIssue(artifact.KindLimit, "unpack", fmt.Sprintf("max depth %d reached: %s container not unpacked", b.limits.MaxDepth, x.Name()))
			return
		}
		s := &sink{build: b, node: n, extractor: x.Name(), parentSize: blob.Size(), names: map[string]int{}}
		err := safeExtract(ctx, x, Input{Node: n, Blob: blob, Scratch: b.scratch, Limits: b.limits, Tools: b.engine.tools, Passwords: b.engine.passwords}, s)
		if err != nil && !errors.Is(err, ErrStop) {
			n.AddIssue(IssueKind(err), "unpack:"+x.Name(), err.Error())
		}
		if s.emitted > 0 || s.claimed {
			n.Container = x.Name()
			return
		}
	}
	b.unread(n, matched, len(n.Issues) > issues)
}

// onlySome are container types whose extractor reads only one kind of
// them and declines the others in silence: such a decline is not an empty
// container. The MSI extractor reads OLE compound files that are MSIs, not
// Office documents.
var onlySome = map[string]string{
	filetype.OLE: "that is not an MSI: its streams are not listed",
}

// unread explains a container-format node that no extractor listed, so
// that an archive nobody could read never passes for plain data: no
// extractor for its format is an unsupported-format issue naming it; an
// extractor that read it without error and found nothing marks it as an
// empty container (meta entries=0).
func (b *build) unread(n *artifact.Node, matched string, hadIssue bool) {
	if !filetype.IsContainer(n.Type) || hadIssue {
		return
	}
	if matched == "" {
		n.AddIssue(artifact.KindUnsupportedFormat, "unpack", fmt.Sprintf("%s (%s): no extractor reads this format; its content is not analysed", filetype.Describe(n.Type), n.Type))
		return
	}
	if why, ok := onlySome[n.Type]; ok {
		n.AddIssue(artifact.KindUnsupportedFormat, "unpack", fmt.Sprintf("%s (%s) %s", filetype.Describe(n.Type), n.Type, why))
		return
	}
	n.Container = matched
	if n.Meta == nil {
		n.Meta = map[string]string{}
	}
	n.Meta["entries"] = "0"
}

// IssueKind is the issue kind an extractor's error is recorded under: a
// missing tool, an unsupported variant, a truncated or malformed container,
// a deadline or a panic by their kinds, anything else an extract error.
// Extractors use it for the issues they record themselves on one entry.
func IssueKind(err error) string {
	var tm *ToolMissingError
	switch {
	case errors.As(err, &tm):
		return artifact.KindToolMissing
	case errors.Is(err, ErrUnsupported):
		return artifact.KindUnsupported
	case errors.Is(err, ErrTruncated):
		return artifact.KindTruncated
	case errors.Is(err, ErrMalformed):
		return artifact.KindMalformed
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return artifact.KindTimeout
	case errors.Is(err, errPanic):
		return artifact.KindPanic
	}
	return artifact.KindExtract
}

// ErrUnsupported marks a format variant an extractor recognises but cannot read.
var ErrUnsupported = errors.New("unsupported variant")

// ErrMalformed marks a container whose declared sizes, counts or offsets
// disagree with its bytes (KindMalformed); the error names the field.
var ErrMalformed = errors.New("malformed")

// ErrTruncated marks a container that its own lengths or checksums show to
// be cut short (KindTruncated).
var ErrTruncated = errors.New("truncated")

// ToolMissingError says an external program an extractor needs is not installed.
type ToolMissingError struct{ Tool string }

func (e *ToolMissingError) Error() string { return e.Tool + " not found (run make setup)" }

var errPanic = errors.New("extractor panic")

func safeExtract(ctx context.Context, x Extractor, in Input, s Sink) (err error) {
	defer func() {
		if r := recover(); r != nil {
			stack := debug.Stack()
			if len(stack) > 800 {
				stack = stack[:800]
			}
			err = fmt.Errorf("%w: %v: %s", errPanic, r, stack)
		}
	}()
	return x.Extract(ctx, in, s)
}

// sink is the engine's side of one extraction.
type sink struct {
	build      *build
	node       *artifact.Node
	extractor  string
	parentSize int64
	emitted    int
	bytes      int64
	claimed    bool
	stopped    bool
	names      map[string]int
}

func (s *sink) Installer(info *artifact.Installer) {
	s.claimed = true
	s.node.Installer = info
}

func (s *sink) Signature(sig *pe.Signature) { s.node.Signature = sig }

func (s *sink) Issue(kind, message string) { s.node.AddIssue(kind, "unpack:"+s.extractor, message) }

func (s *sink) Emit(ctx context.Context, e Entry) error {
	b := s.build
	if s.stopped {
		return ErrStop
	}
	if err := ctx.Err(); err != nil {
		s.stop(artifact.KindTimeout, fmt.Sprintf("build deadline reached after %d entries: %v", s.emitted, err))
		return ErrStop
	}
	if s.emitted >= b.limits.MaxEntries {
		s.stop(artifact.KindLimit, fmt.Sprintf("max entries per container %d reached: the rest is not listed", b.limits.MaxEntries))
		return ErrStop
	}
	if err := b.budget.ChargeNode(); err != nil {
		s.stop(artifact.KindLimit, err.Error()+": the rest is not listed")
		return ErrStop
	}
	s.emitted++

	decoded, encoding := DecodeLegacyName(e.Name)
	name, why := VetName(decoded)
	name = s.uniqueName(name)
	child := s.node.NewChild(name, s.extractor)
	if len(e.Meta) > 0 || encoding != "" {
		child.Meta = map[string]string{}
		for k, v := range e.Meta {
			child.Meta[k] = v
		}
	}
	if encoding != "" {
		// A normalised view: the bytes as found stay in original_name.
		child.Meta["name_encoding"] = encoding
	}
	if (why != "" || name != e.Name) && child.Meta["original_name"] == "" {
		// An extractor that decoded the name itself gave the bytes as
		// stored; else the name it gave is what was found.
		if child.Meta == nil {
			child.Meta = map[string]string{}
		}
		child.Meta["original_name"] = strconv.Quote(e.Name)
	}
	if why != "" {
		child.AddIssue(artifact.KindUnsafeName, "unpack:"+s.extractor, fmt.Sprintf("entry name %s: %s", strconv.Quote(e.Name), why))
	}
	if e.Meta["encrypted"] == "true" {
		s.markEncrypted(e.Meta["password"])
	}
	s.node.Children = append(s.node.Children, child)

	if e.Size > b.limits.MaxEntryBytes {
		child.Size = e.Size
		child.AddIssue(artifact.KindLimit, "unpack:"+s.extractor, fmt.Sprintf("declared size %d exceeds max entry bytes %d: not extracted", e.Size, b.limits.MaxEntryBytes))
		return nil
	}
	// The ratio and build-budget rooms cap the read itself, so a bomb is
	// stopped after the bytes the limits allow, not after it has been
	// inflated to memory or disk.
	max, why := s.room()
	blob, borrowed, err := s.read(e.Body, max, e.Size)
	if errors.Is(err, errEntryTooBig) && why != "" {
		child.AddIssue(artifact.KindLimit, "unpack:"+s.extractor, why+" hit while this entry was read: not analysed")
		s.stop(artifact.KindLimit, why+": the rest is not listed")
		return ErrStop
	}
	if err != nil {
		child.AddIssue(kindOf(err), "unpack:"+s.extractor, err.Error())
		if blob == nil {
			return nil
		}
	}
	s.bytes += blob.Size()
	if err := b.budget.ChargeBytes(blob.Size()); err != nil {
		s.stop(artifact.KindLimit, err.Error()+": the rest is not listed")
		child.AddIssue(artifact.KindLimit, "unpack:"+s.extractor, "build byte budget hit while this entry was read: not analysed")
		return ErrStop
	}
	child.SetBlob(blob)
	b.process(ctx, child, s.node, borrowed)
	return nil
}

// markEncrypted records on the container that it held encrypted entries
// and which password list entries opened them (labels, never passwords).
func (s *sink) markEncrypted(label string) {
	n := s.node
	if n.Meta == nil {
		n.Meta = map[string]string{}
	}
	n.Meta["encrypted"] = "true"
	if label == "" {
		return
	}
	labels := []string{label}
	if old := n.Meta["password"]; old != "" {
		labels = append(strings.Split(old, "; "), label)
	}
	slices.Sort(labels)
	n.Meta["password"] = strings.Join(slices.Compact(labels), "; ")
}

func (s *sink) stop(kind, msg string) {
	if !s.stopped {
		s.node.AddIssue(kind, "unpack:"+s.extractor, msg)
	}
	s.stopped = true
}

// uniqueName keeps sibling IDs distinct when a container repeats a name.
func (s *sink) uniqueName(name string) string {
	s.names[name]++
	if k := s.names[name]; k > 1 {
		return fmt.Sprintf("%s#%d", name, k)
	}
	return name
}

var errEntryTooBig = errors.New("entry larger than max entry bytes")

func kindOf(err error) string {
	switch {
	case errors.Is(err, errEntryTooBig):
		return artifact.KindLimit
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return artifact.KindTimeout
	}
	return artifact.KindExtract
}

// ratioFloor is the output a container may always produce whatever its
// size: tiny archives of small files legitimately exceed any ratio.
const ratioFloor = 1 << 20

// ratioAllowance is how many bytes a container of size bytes may expand to
// under the compression-ratio limit.
func ratioAllowance(l limits.Limits, size int64) int64 {
	return max(int64(l.MaxRatio*float64(size)), ratioFloor)
}

// room is how many bytes the next entry may have: the least of the entry
// limit, what the compression ratio still allows this container, and what
// is left of the build's byte budget. why names the binding limit when it is
// not the entry limit.
func (s *sink) room() (int64, string) {
	l := s.build.limits
	max, why := l.MaxEntryBytes, ""
	if s.parentSize > 0 {
		allowed := ratioAllowance(l, s.parentSize)
		if r := allowed - s.bytes; r < max {
			max, why = r, fmt.Sprintf("compression ratio over %g (%d bytes may come out of %d)", l.MaxRatio, allowed, s.parentSize)
		}
	}
	used, _ := s.build.budget.Used()
	if r := l.MaxTotalBytes - used; r < max {
		max, why = r, fmt.Sprintf("%v (%d)", limits.ErrTotalBytes, l.MaxTotalBytes)
	}
	if max < 0 {
		max = 0
	}
	return max, why
}

// read takes a child's bytes through max: in memory up to InMemoryBytes,
// spilled to the scratch root beyond. A read error after some bytes keeps
// what was read (the blob is returned with the error). declared is the
// size the container gives (-1: unknown); it only sizes the buffer.
func (s *sink) read(r io.Reader, max, declared int64) (blob *artifact.Blob, borrowed bool, err error) {
	b := s.build
	l := b.limits
	if r == nil {
		return nil, false, errors.New("entry has no body")
	}
	limit := min(l.InMemoryBytes, max) + 1
	// The declared size is trusted only up to the in-memory limit, to
	// size the buffer once instead of doubling it.
	want := int64(bytes.MinRead)
	if declared >= 0 && declared < limit {
		want = declared + 1 // one more, to see the end
	}
	buf, err := readUpTo(r, b.entryBuf, want, limit)
	b.entryBuf = buf[:0]
	n := int64(len(buf))
	if err != nil {
		return artifact.MemoryBlob(buf), true, fmt.Errorf("read entry after %d bytes: %w", n, err)
	}
	if n > max {
		return nil, false, fmt.Errorf("%w (%d): not extracted", errEntryTooBig, max)
	}
	if n <= l.InMemoryBytes {
		return artifact.MemoryBlob(buf), true, nil
	}
	f, total, err := b.scratch.Spill(io.MultiReader(bytes.NewReader(buf), r), max)
	if err != nil {
		if total > max {
			return nil, false, fmt.Errorf("%w (%d): not extracted", errEntryTooBig, max)
		}
		return nil, false, fmt.Errorf("spill entry: %w", err)
	}
	return artifact.FileBlob(f, total), false, nil
}

// readUpTo reads r into buf (its bytes reused, its capacity grown to want
// at first, then doubled as needed) until the end of r or limit bytes.
func readUpTo(r io.Reader, buf []byte, want, limit int64) ([]byte, error) {
	buf = slices.Grow(buf[:0], int(min(want, limit)))
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(int64(len(buf)), limit-int64(len(buf)))))
		}
		k, err := r.Read(buf[len(buf):int(min(int64(cap(buf)), limit))])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
