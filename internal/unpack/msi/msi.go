// Package msi is the extractor for Windows Installer databases: an OLE
// compound file (read with richardlehane/mscfb) whose stream names are
// MSI-packed, with a string pool and column-major tables that this package
// decodes itself. Files from embedded cabinets are emitted at the install
// path msiextract gives them; other streams (Binary.*, Icon.*, summary
// information, signatures) by decoded name. The tables that say what the
// installer would do are recorded on the node.
package msi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/richardlehane/mscfb"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/cab/cabfile"
)

// Extractor is the MSI extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "msi" }

var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// Match implements unpack.Extractor: any OLE compound file; Extract leaves
// those without an MSI string pool alone.
func (Extractor) Match(head []byte, size int64) bool { return bytes.HasPrefix(head, oleMagic) }

// RecordedTables are the tables copied onto the node, all columns as strings.
var RecordedTables = []string{
	"Directory", "Component", "File", "Media", "Registry", "Shortcut", "ServiceInstall",
	"ServiceControl", "CustomAction", "Property", "Binary", "Icon", "Feature", "InstallExecuteSequence",
}

// Extract implements unpack.Extractor.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	db, err := openDatabase(in.Blob.ReaderAt())
	if db == nil {
		return err
	}
	if _, ok := db.streams[tableMarker+"_StringPool"]; !ok {
		return nil // an OLE file, but not an installer database (a .doc, a .msg)
	}
	for _, w := range db.warnings {
		sink.Issue(artifact.KindParse, w)
	}
	for _, p := range checkCompound(in.Blob.ReaderAt(), in.Blob.Size()) {
		kind := artifact.KindMalformed
		if p.truncated {
			kind = artifact.KindTruncated
		}
		sink.Issue(kind, "msi: "+p.String())
	}
	if err != nil {
		return err
	}
	info := &artifact.Installer{Format: "msi", Tables: map[string]artifact.Table{}}
	for _, name := range RecordedTables {
		t, err := db.table(name)
		if err != nil {
			sink.Issue(artifact.KindParse, fmt.Sprintf("msi: table %s: %v", name, err))
		}
		if t == nil {
			continue
		}
		at := artifact.Table{Rows: t.rows}
		for _, c := range t.columns {
			at.Columns = append(at.Columns, c.name)
		}
		if at.Rows == nil {
			at.Rows = [][]string{}
		}
		info.Tables[name] = at
	}
	sink.Installer(info)

	if sig := signature(db, in.Blob.ReaderAt(), in.Blob.Size(), sink); sig != nil {
		sink.Signature(sig)
	}

	paths, err := installPaths(db)
	if err != nil {
		sink.Issue(artifact.KindParse, err.Error())
	}
	consumed := map[string]bool{}
	external, err := emitCabinets(ctx, db, in, paths, consumed, sink)
	if len(external.Rows) > 0 {
		info.Tables[ExternalFilesTable] = external
	}
	if err != nil {
		return err
	}
	for _, name := range db.order {
		if strings.HasPrefix(name, tableMarker) || consumed[name] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		f := db.streams[name]
		if err := sink.Emit(ctx, unpack.Entry{Name: name, Size: f.Size, Meta: map[string]string{"msi_stream": name}, Body: io.LimitReader(&fileReader{f: f}, f.Size)}); err != nil {
			return err
		}
	}
	return nil
}

// emitCabinets lists the files of every embedded cabinet the Media table
// names, under their install paths. Files of external cabinets (beside the
// MSI, not inside it) are returned as the external-files table, for
// LinkTree to find once the whole build is unpacked.
func emitCabinets(ctx context.Context, db *database, in unpack.Input, paths map[string]string, consumed map[string]bool, sink unpack.Sink) (artifact.Table, error) {
	external := artifact.Table{Columns: []string{"cabinet", "file_key", "path"}}
	media, err := db.table("Media")
	if err != nil {
		sink.Issue(artifact.KindParse, fmt.Sprintf("msi: table Media: %v", err))
	}
	if media == nil {
		return external, nil
	}
	ci := media.col("Cabinet")
	if ci < 0 {
		return external, nil
	}
	external.Rows = externalFiles(db, media, paths)
	emitted := map[string]bool{}
	for _, r := range external.Rows {
		emitted[r[1]] = true // listed for LinkTree: not missing from the embedded cabinets
	}
	for _, row := range media.rows {
		cab := row[ci]
		if cab == "" || !strings.HasPrefix(cab, "#") {
			continue
		}
		stream := cab[1:]
		f := db.streams[stream]
		if f == nil {
			sink.Issue(artifact.KindExtract, fmt.Sprintf("msi: embedded cabinet stream %q not found", stream))
			continue
		}
		if consumed[stream] {
			continue
		}
		c, err := cabfile.Open(&fileReader{f: f}, f.Size)
		if err != nil {
			// Leave the stream to be emitted as it is: the cab extractor may do better.
			sink.Issue(artifact.KindExtract, fmt.Sprintf("msi: embedded cabinet %q: %v", stream, err))
			continue
		}
		consumed[stream] = true
		for _, p := range c.Check() {
			kind := artifact.KindMalformed
			if p.Truncated {
				kind = artifact.KindTruncated
			}
			sink.Issue(kind, fmt.Sprintf("msi: cabinet %q: %s", stream, p))
		}
		for _, fo := range c.Folders {
			if fo.Compression&0x0F == cabfile.CompressQuantum {
				sink.Issue(artifact.KindUnsupported, fmt.Sprintf("msi: cabinet %q: CAB: Quantum compression not supported", stream))
				break
			}
		}
		issue := func(msg string) { sink.Issue(artifact.KindParse, fmt.Sprintf("msi: cabinet %q: %s", stream, msg)) }
		skip := func(cf *cabfile.File, why string) {
			sink.Issue(artifact.KindUnsupported, fmt.Sprintf("msi: cabinet %q: file %q: %s", stream, cf.Name, why))
		}
		err = c.Walk(ctx, in.Limits.MaxTotalBytes, issue, skip, func(cf *cabfile.File, body io.Reader) error {
			name, ok := paths[cf.Name]
			meta := map[string]string{"msi_file_key": cf.Name, "cabinet": stream}
			if int(cf.Folder) < len(c.Folders) {
				meta["compression"] = c.Folders[cf.Folder].Method()
			}
			if !ok {
				name = cf.Name
				sink.Issue(artifact.KindParse, fmt.Sprintf("msi: cabinet %q: file key %q is not in the File table: listed by its key", stream, cf.Name))
			}
			emitted[cf.Name] = true
			return sink.Emit(ctx, unpack.Entry{Name: name, Size: int64(cf.Size), Meta: meta, Body: body})
		})
		if errors.Is(err, cabfile.ErrWorkLimit) {
			sink.Issue(artifact.KindLimit, fmt.Sprintf("msi: cabinet %q: %v: the rest is not listed", stream, err))
			return external, nil
		}
		if err != nil {
			return external, fmt.Errorf("msi: cabinet %q: %w", stream, err)
		}
	}
	var missing []string
	for key := range paths {
		if !emitted[key] {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 && len(consumed) > 0 {
		sort.Strings(missing)
		if len(missing) > 20 {
			missing = append(missing[:20], "...")
		}
		sink.Issue(artifact.KindExtract, fmt.Sprintf("msi: %d File table rows not found in the embedded cabinets: %s", len(missing), strings.Join(missing, ", ")))
	}
	return external, nil
}

// externalFiles maps each file of an external cabinet to its install path.
// A file belongs to the first media row (in LastSequence order) whose
// LastSequence is at least the file's Sequence, as Windows Installer reads
// the Media table.
func externalFiles(db *database, media *table, paths map[string]string) [][]string {
	ci, li := media.col("Cabinet"), media.col("LastSequence")
	fileT, _ := db.table("File")
	if li < 0 || fileT == nil {
		return nil
	}
	k, sq := fileT.col("File"), fileT.col("Sequence")
	if k < 0 || sq < 0 {
		return nil
	}
	type disk struct {
		last int
		cab  string
	}
	var disks []disk
	anyExternal := false
	for _, r := range media.rows {
		last, err := strconv.Atoi(r[li])
		if err != nil {
			continue
		}
		disks = append(disks, disk{last, r[ci]})
		anyExternal = anyExternal || (r[ci] != "" && !strings.HasPrefix(r[ci], "#"))
	}
	if !anyExternal {
		return nil
	}
	sort.SliceStable(disks, func(i, j int) bool { return disks[i].last < disks[j].last })
	var rows [][]string
	for _, r := range fileT.rows {
		seq, err := strconv.Atoi(r[sq])
		if err != nil {
			continue
		}
		for _, d := range disks {
			if seq <= d.last {
				if d.cab != "" && !strings.HasPrefix(d.cab, "#") {
					path, ok := paths[r[k]]
					if !ok {
						path = r[k]
					}
					rows = append(rows, []string{d.cab, r[k], path})
				}
				break
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	return rows
}

// longName picks the long form of "short|long" names.
func longName(s string) string {
	if i := strings.IndexByte(s, '|'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// targetName is the target part of a DefaultDir "target:source".
func targetName(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return longName(s)
}

// maxDirDepth bounds the Directory parent chain (a hostile table may loop).
const maxDirDepth = 64

// installPaths maps each File key to its install path as msiextract gives
// it: the component's directory chain up to SourceDir (TARGETDIR), "."
// elements dropped, ProgramFilesFolder named "Program Files".
func installPaths(db *database) (map[string]string, error) {
	out := map[string]string{}
	dirT, err := db.table("Directory")
	if err != nil {
		return out, fmt.Errorf("msi: table Directory: %w", err)
	}
	compT, err := db.table("Component")
	if err != nil {
		return out, fmt.Errorf("msi: table Component: %w", err)
	}
	fileT, err := db.table("File")
	if err != nil {
		return out, fmt.Errorf("msi: table File: %w", err)
	}
	if fileT == nil {
		return out, nil
	}
	type dirRow struct{ parent, name string }
	dirs := map[string]dirRow{}
	if dirT != nil {
		d, p, n := dirT.col("Directory"), dirT.col("Directory_Parent"), dirT.col("DefaultDir")
		if d >= 0 && p >= 0 && n >= 0 {
			for _, r := range dirT.rows {
				dirs[r[d]] = dirRow{parent: r[p], name: targetName(r[n])}
			}
		}
	}
	resolve := func(id string) string {
		var parts []string
		for depth := 0; depth < maxDirDepth; depth++ {
			d, ok := dirs[id]
			if !ok {
				break
			}
			name := d.name
			if id == "ProgramFilesFolder" {
				name = "Program Files"
			}
			if name == "SourceDir" && depth > 0 {
				break
			}
			if name != "." && name != "SourceDir" {
				parts = append(parts, name)
			}
			if d.parent == "" || d.parent == id {
				break
			}
			id = d.parent
		}
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
		// Joined as data, not cleaned: a ".." in the tables must reach the
		// engine, which reports it as an unsafe name.
		return strings.Join(parts, "/")
	}
	compDir := map[string]string{}
	if compT != nil {
		c, d := compT.col("Component"), compT.col("Directory_")
		if c >= 0 && d >= 0 {
			for _, r := range compT.rows {
				compDir[r[c]] = resolve(r[d])
			}
		}
	}
	k, c, n := fileT.col("File"), fileT.col("Component_"), fileT.col("FileName")
	if k < 0 || c < 0 || n < 0 {
		return out, fmt.Errorf("msi: File table lacks File, Component_ or FileName")
	}
	for _, r := range fileT.rows {
		name := longName(r[n])
		if dir := compDir[r[c]]; dir != "" {
			name = dir + "/" + name
		}
		out[r[k]] = name
	}
	return out, nil
}

// fileReader gives an mscfb stream full io.ReaderAt semantics (its ReadAt
// may return short reads without an error) and a Read that starts at 0.
type fileReader struct {
	f   *mscfb.File
	pos int64
}

func (r *fileReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		if off+int64(n) >= r.f.Size {
			return n, io.EOF
		}
		k, err := r.f.ReadAt(p[n:], off+int64(n))
		n += k
		if err != nil && err != io.EOF {
			return n, err
		}
		if k == 0 {
			return n, io.ErrUnexpectedEOF
		}
	}
	return n, nil
}

func (r *fileReader) Read(p []byte) (int, error) {
	if r.pos >= r.f.Size {
		return 0, io.EOF
	}
	if int64(len(p)) > r.f.Size-r.pos {
		p = p[:r.f.Size-r.pos]
	}
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}
