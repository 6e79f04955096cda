// Package isstream reads the file stream an InstallShield setup.exe carries
// in its overlay (ClamAV's "ishield" format): records of
// name\0 path\0 version\0 decimal-size\0 then size bytes, back to back.
// The PE extractor carves the overlay; this lists its files by their path
// field ("Disk1\data1.cab"), so the cabinet or MSI inside unpacks in turn.
package isstream

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/tomscan/tomscan/internal/unpack"
)

// maxField caps one header string: MAX_PATH in the installer's own code.
const maxField = 1024

// Extractor is the InstallShield setup stream extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "isstream" }

// Match implements unpack.Extractor: the head parses as one record header.
func (Extractor) Match(head []byte, size int64) bool {
	_, _, _, n, _, err := parseHeader(bufio.NewReader(bytes.NewReader(head)))
	return err == nil && n >= 0 && n <= size
}

// parseHeader reads one record's four NUL-terminated fields.
func parseHeader(r *bufio.Reader) (name, path, version string, size int64, hdrLen int, err error) {
	var f [4]string
	for i := range f {
		b, err := r.ReadSlice(0)
		if err != nil {
			return "", "", "", 0, 0, fmt.Errorf("field %d: %w", i, err)
		}
		hdrLen += len(b)
		if len(b) > maxField {
			return "", "", "", 0, 0, fmt.Errorf("field %d longer than %d", i, maxField)
		}
		for _, c := range b[:len(b)-1] {
			if c < 0x20 {
				return "", "", "", 0, 0, fmt.Errorf("field %d: control byte", i)
			}
		}
		f[i] = string(b[:len(b)-1])
	}
	if f[0] == "" || !isVersion(f[2]) {
		return "", "", "", 0, 0, fmt.Errorf("not a record header")
	}
	size, err = strconv.ParseInt(f[3], 10, 64)
	if err != nil || size < 0 {
		return "", "", "", 0, 0, fmt.Errorf("size %q", f[3])
	}
	return f[0], f[1], f[2], size, hdrLen, nil
}

func isVersion(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// CabinetPrefix names the files unshield installs from the stream's
// InstallShield cabinet set: "[installshield]/<component>/<file>".
const CabinetPrefix = "[installshield]/"

// cabinetPart is a record name unshield needs next to its siblings; only
// these fixed shapes are ever written to disk under their own names.
var cabinetPart = regexp.MustCompile(`(?i)^data[0-9]{1,3}\.(hdr|cab)$`)

type record struct {
	name      string
	off, size int64
}

// Extract implements unpack.Extractor. Besides each record, an
// InstallShield cabinet set (data1.hdr + data1.cab ...) is only readable as
// a whole, so the stream, which holds the whole set, unpacks it as well.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	var parts []record
	if err := listRecords(ctx, in, sink, func(r record) { parts = append(parts, r) }); err != nil {
		return err
	}
	return unpackCabinetSet(ctx, in, sink, in.Blob.ReaderAt(), parts)
}

func listRecords(ctx context.Context, in unpack.Input, sink unpack.Sink, part func(record)) error {
	ra, total := in.Blob.ReaderAt(), in.Blob.Size()
	var off int64
	for off < total {
		if err := ctx.Err(); err != nil {
			return err
		}
		br := bufio.NewReaderSize(io.NewSectionReader(ra, off, min(total-off, 4*maxField+64)), 4*maxField+64)
		name, path, version, size, hdr, err := parseHeader(br)
		if err != nil {
			return fmt.Errorf("isstream: record at %d: %w", off, err)
		}
		data := off + int64(hdr)
		if size > total-data {
			return fmt.Errorf("isstream: record %q at %d declares %d bytes, %d left: truncated", name, off, size, total-data)
		}
		child := path
		if child == "" {
			child = name
		}
		meta := map[string]string{"name": name, "version": version, "offset": strconv.FormatInt(data, 10)}
		if err := sink.Emit(ctx, unpack.Entry{Name: child, Size: size, Meta: meta, Body: io.NewSectionReader(ra, data, size)}); err != nil {
			return err
		}
		if cabinetPart.MatchString(name) {
			part(record{name: strings.ToLower(name), off: data, size: size})
		}
		off = data + size
	}
	return nil
}

// unpackCabinetSet runs unshield on the stream's data*.hdr/data*.cab set.
func unpackCabinetSet(ctx context.Context, in unpack.Input, sink unpack.Sink, ra io.ReaderAt, parts []record) error {
	has := map[string]bool{}
	for _, p := range parts {
		has[p.name] = true
	}
	if !has["data1.hdr"] || !has["data1.cab"] {
		return nil
	}
	if in.Tools.Unshield == "" {
		return fmt.Errorf("isstream: cabinet set: %w", &unpack.ToolMissingError{Tool: "unshield"})
	}
	work, err := unpack.NewOutDir(in, "isset-in")
	if err != nil {
		return fmt.Errorf("isstream: %w", err)
	}
	defer work.Remove()
	var cab string
	for _, p := range parts {
		path, err := work.Write(p.name, io.NewSectionReader(ra, p.off, p.size))
		if err != nil {
			return fmt.Errorf("isstream: cabinet set: %w", err)
		}
		if p.name == "data1.cab" {
			cab = path
		}
	}
	out, err := unpack.NewOutDir(in, "isset-out")
	if err != nil {
		return fmt.Errorf("isstream: %w", err)
	}
	defer out.Remove()
	res, err := unpack.RunExtractTool(ctx, in, out, sink, work.Abs, "unshield", in.Tools.Unshield, "-D", "1", "-d", out.Abs, "x", cab)
	if err != nil {
		return fmt.Errorf("isstream: cabinet set: %w", err)
	}
	if res.ExitCode != 0 {
		msg := unpack.FirstLine(res.Stderr)
		if msg == "" {
			msg = res.State
		}
		sink.Issue("extract-error", fmt.Sprintf("isstream: unshield on the cabinet set: exit %d: %s", res.ExitCode, msg))
	}
	_, err = unpack.EmitDirNamed(ctx, out, sink, in.Limits.MaxEntries, func(p string) (string, map[string]string) {
		return CabinetPrefix + p, map[string]string{"source": "data1.hdr+data1.cab"}
	})
	return err
}
