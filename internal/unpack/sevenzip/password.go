package sevenzip

// 7z AES-256 (7-Zip's only cipher) through bodgit/sevenzip's password
// support. Kept apart from the plain path so that the two change separately.
//
// Two cases: an encrypted header (7z a -mhe=on) cannot be listed without the
// password, and a wrong password fails the header's CRC; encrypted content
// under a plain header lists fine but reads fail with a "no password" error,
// and bodgit does not check file CRCs, so a password is accepted only when
// the first file it decrypts has its stored CRC-32.

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	sz "github.com/bodgit/sevenzip"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
)

// opened says which password list entry opened an encrypted archive.
type opened struct {
	label string
}

// meta marks a child of an encrypted archive.
func (o *opened) meta(m map[string]string) {
	if o == nil {
		return
	}
	m["encrypted"] = "true"
	m["encryption"] = "7z-aes-256"
	m["password"] = o.label
}

// isEncrypted tells whether err is bodgit's hint that a password is needed
// or was wrong.
func isEncrypted(err error) bool {
	var re *sz.ReadError
	return errors.As(err, &re) && re.Encrypted
}

// contentEncrypted probes the first non-empty file of r: true when reading
// it needs a password.
func contentEncrypted(r *sz.Reader) bool {
	f := firstFile(r)
	if f == nil {
		return false
	}
	rc, err := f.Open()
	if err != nil {
		return isEncrypted(err)
	}
	defer rc.Close()
	_, err = rc.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, io.EOF) && isEncrypted(err)
}

func firstFile(r *sz.Reader) *sz.File {
	for _, f := range r.File {
		if !f.FileInfo().IsDir() && f.UncompressedSize > 0 {
			return f
		}
	}
	return nil
}

// openEncrypted tries the password list on an archive whose header or
// content is encrypted. It returns the reader and which entry opened it, or
// (nil, nil, nil) after recording an encrypted issue when none did.
func openEncrypted(ctx context.Context, in unpack.Input, sink unpack.Sink, headerEncrypted bool) (*sz.Reader, *opened, error) {
	undecided := false
	for _, pw := range in.Passwords {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		ok, unproven := tryPassword(ctx, in, pw.Value, headerEncrypted)
		undecided = undecided || unproven
		if ok {
			// A fresh reader: the proving read left the first folder's
			// decoder pooled at its end.
			r, err := sz.NewReaderWithPassword(in.Blob.ReaderAt(), in.Blob.Size(), pw.Value)
			if err != nil {
				return nil, nil, fmt.Errorf("7z: reopen with the password that opened it: %w", err)
			}
			return r, &opened{label: pw.Label}, nil
		}
	}
	what := "content"
	if headerEncrypted {
		what = "header and content (file names unknown)"
	}
	if undecided {
		// Only decoding a file to its CRC-32 proves a 7z password, and
		// bodgit lacks the file's coder: "no password opened it" would be
		// a claim nothing here checked.
		sink.Issue(artifact.KindUnsupported, fmt.Sprintf("7z: encrypted %s (AES-256) under a coder bodgit does not decode: no password of the %d could be proven (7-Zip is given unencrypted archives only); not unpacked", what, len(in.Passwords)))
		return nil, nil, nil
	}
	sink.Issue(artifact.KindEncrypted, fmt.Sprintf("7z: encrypted %s (AES-256) not opened by any of the %d passwords tried", what, len(in.Passwords)))
	return nil, nil, nil
}

// tryPassword opens the archive with pw and proves it: an encrypted header
// decodes with its CRC only under the right key; encrypted content is proved
// by the first file's CRC-32 (read up to MaxEntryBytes). A first file that
// decodes short without an error proves nothing: under a wrong key the
// first byte of an LZMA2 stream is its end marker once in 256 keys, and
// bodgit then gives no bytes and no error.
//
// unproven is true when the first file's coder is one bodgit lacks, so
// that nothing can be proved either way.
func tryPassword(ctx context.Context, in unpack.Input, pw string, headerEncrypted bool) (ok, unproven bool) {
	defer func() {
		if recover() != nil { // garbage from a wrong key must not end the archive
			ok = false
		}
	}()
	r, err := sz.NewReaderWithPassword(in.Blob.ReaderAt(), in.Blob.Size(), pw)
	if err != nil {
		return false, false
	}
	f := firstFile(r)
	if f == nil {
		return headerEncrypted, false
	}
	rc, err := f.Open()
	if err != nil {
		return false, unsupportedCoder(err)
	}
	defer rc.Close()
	h := crc32.NewIEEE()
	n, err := io.Copy(h, unpack.ContextReader(ctx, io.LimitReader(rc, in.Limits.MaxEntryBytes), ""))
	if err != nil {
		return false, unsupportedCoder(err)
	}
	if uint64(n) < f.UncompressedSize {
		// Whole within MaxEntryBytes, or cut at it (a larger file,
		// which its CRC cannot prove until read whole).
		return n == in.Limits.MaxEntryBytes, false
	}
	return f.CRC32 == 0 || h.Sum32() == f.CRC32, false
}
