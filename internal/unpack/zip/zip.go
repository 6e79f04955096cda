// Package zip lists the entries of ZIP archives with the standard library's
// reader, which checks CRCs and refuses inconsistent headers.
package zip

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
)

// Extractor is the ZIP extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "zip" }

// Match implements unpack.Extractor: a local file header or an empty archive's end record.
func (Extractor) Match(head []byte, size int64) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
}

// Extract implements unpack.Extractor.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	r, err := zip.NewReader(in.Blob.ReaderAt(), in.Blob.Size())
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return recoverWithTool(ctx, in, sink, err)
	}
	checkBounds(ctx, in.Blob.ReaderAt(), in.Blob.Size(), r.File, sink)
	tool := decodeWithTool(ctx, in, sink, r.File)
	defer tool.remove()
	keys := &keyring{list: in.Passwords, winner: -1}
	for _, f := range r.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			continue
		}
		meta := map[string]string{"method": strconv.Itoa(int(f.Method))}
		if !f.Modified.IsZero() {
			meta["modified"] = f.Modified.UTC().Format("2006-01-02T15:04:05Z")
		}
		size := int64(f.UncompressedSize64)
		if f.UncompressedSize64 > 1<<62 {
			size = 1 << 62
		}
		if f.Flags&flagEncrypted != 0 {
			if err := emitEncrypted(ctx, in, sink, f, size, meta, keys); err != nil {
				return err
			}
			continue
		}
		rc, err := openEntry(f, tool, in.Limits.MaxEntryBytes)
		if err != nil {
			sink.Issue(unpack.IssueKind(err), fmt.Sprintf("zip: open entry %q: %v", f.Name, err))
			continue
		}
		if !decodedHere(f.Method) {
			meta["decoded_by"] = "7-Zip"
		}
		err = sink.Emit(ctx, unpack.Entry{Name: f.Name, Size: size, Meta: meta, Body: rc})
		rc.Close()
		if err != nil {
			return err
		}
	}
	keys.report(sink)
	return nil
}

// openEntry returns the decoded bytes of an unencrypted entry: the standard
// library's reader (which checks size and CRC-32) for Store and Deflate,
// the decoders of methods.go, held to the same checks, for bzip2, LZMA,
// zstd and xz, and 7-Zip's output for the rest.
func openEntry(f *zip.File, tool *viaTool, maxOut int64) (io.ReadCloser, error) {
	switch {
	case f.Method == zip.Store || f.Method == zip.Deflate:
		return f.Open()
	case !decodedHere(f.Method):
		return tool.open(f)
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, err
	}
	at, _ := raw.(*io.SectionReader)
	dec, err := decode(compressed{method: f.Method, size: f.UncompressedSize64, r: raw, at: at, maxOut: maxOut})
	if err != nil {
		return nil, err
	}
	d := unpack.Declared{Size: f.UncompressedSize64, HasSize: true, CRC32: f.CRC32, HasCRC: true}
	return struct {
		io.Reader
		io.Closer
	}{unpack.CheckedReader(dec, d, methodName(f.Method)), dec}, nil
}

// keyring tries the password list on encrypted entries, the one that
// opened the previous entry first, and remembers the entries none opened.
type keyring struct {
	list   []unpack.Password
	winner int
	locked []string
	kinds  map[string]bool
}

// open finds the password that opens f, or -1.
func (k *keyring) open(ctx context.Context, f *zip.File, c crypto, max int64) (int, error) {
	order := make([]int, 0, len(k.list))
	if k.winner >= 0 {
		order = append(order, k.winner)
	}
	for i := range k.list {
		if i != k.winner {
			order = append(order, i)
		}
	}
	for _, i := range order {
		err := verify(ctx, f, c, k.list[i].Value, max)
		switch {
		case err == nil:
			k.winner = i
			return i, nil
		case errors.Is(err, errWrongPassword):
			continue
		case ctx.Err() != nil:
			return -1, ctx.Err()
		default:
			return -1, err
		}
	}
	return -1, nil
}

// report is one encrypted issue naming every entry no password opened.
func (k *keyring) report(sink unpack.Sink) {
	if len(k.locked) == 0 {
		return
	}
	names := k.locked
	more := ""
	if len(names) > 20 {
		names, more = names[:20], fmt.Sprintf(" and %d more", len(k.locked)-20)
	}
	var kinds []string
	for kd := range k.kinds {
		kinds = append(kinds, kd)
	}
	sort.Strings(kinds)
	sink.Issue(artifact.KindEncrypted, fmt.Sprintf("zip: %d encrypted entries (%s) not opened by any of the %d passwords tried: %q%s",
		len(k.locked), strings.Join(kinds, ", "), len(k.list), names, more))
}

// emitEncrypted decrypts one entry with the first password that proves
// right and emits it with meta encrypted, encryption and password (the
// list entry's label, never a user's password).
func emitEncrypted(ctx context.Context, in unpack.Input, sink unpack.Sink, f *zip.File, size int64, meta map[string]string, keys *keyring) error {
	c, err := entryCrypto(f)
	if err != nil {
		kind := artifact.KindExtract
		if errors.Is(err, unpack.ErrUnsupported) {
			kind = artifact.KindUnsupported
		}
		sink.Issue(kind, fmt.Sprintf("zip: encrypted entry %q: %v", f.Name, err))
		return nil
	}
	i, err := keys.open(ctx, f, c, in.Limits.MaxEntryBytes)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		sink.Issue(unpack.IssueKind(err), fmt.Sprintf("zip: encrypted entry %q (%s): %v", f.Name, c.kind, err))
		return nil
	}
	if i < 0 {
		keys.locked = append(keys.locked, f.Name)
		if keys.kinds == nil {
			keys.kinds = map[string]bool{}
		}
		keys.kinds[c.kind] = true
		return nil
	}
	plain, err := openPlain(f, c, keys.list[i].Value, in.Limits.MaxEntryBytes)
	if err != nil {
		sink.Issue(unpack.IssueKind(err), fmt.Sprintf("zip: encrypted entry %q (%s): %v", f.Name, c.kind, err))
		return nil
	}
	defer plain.Close()
	meta["method"] = strconv.Itoa(int(c.method))
	meta["encrypted"] = "true"
	meta["encryption"] = c.kind
	meta["password"] = keys.list[i].Label
	return sink.Emit(ctx, unpack.Entry{Name: f.Name, Size: size, Meta: meta, Body: plain})
}
