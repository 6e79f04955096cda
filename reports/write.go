package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// BuildDir is where a build's reports live inside the archive.
func BuildDir(out, key string) string { return filepath.Join(out, "builds", key) }

// EncodeJSON renders r as indented JSON with a final newline. HTML escaping
// is off so that strings from binaries read as they are; the HTML encoder
// escapes them itself.
func EncodeJSON(r *Report) ([]byte, error) { return AppendJSON(nil, r) }

// AppendJSON appends EncodeJSON's bytes to dst. It copies a large report
// fewer times than an indenting json.Encoder into a bytes.Buffer would (a
// build of a thousand PEs has a report of a few hundred MB): the compact
// encoding is indented once, straight into dst.
func AppendJSON(dst []byte, r *Report) ([]byte, error) {
	w := &indentWriter{dst: dst}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var v any = r
	if r.TOMRaw != nil {
		// A loaded report re-encoded keeps its TOM section as written,
		// including fields this build does not model (it then comes last).
		v = struct {
			*Report
			TOM json.RawMessage `json:"tom,omitempty"`
		}{r, r.TOMRaw}
	}
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("reports: encode json: %w", err)
	}
	return w.dst, nil
}

// indentWriter indents what a compact json.Encoder writes (one whole value
// and its newline per Write) as an Encoder with SetIndent("", "  ") would:
// both run json's indenter over the same compact bytes.
type indentWriter struct{ dst []byte }

func (w *indentWriter) Write(b []byte) (int, error) {
	buf := bytes.NewBuffer(w.dst)
	// Room for the indented value up front, so the indenter does not
	// reallocate as it goes (reports grow about 2.2 times when indented).
	buf.Grow(len(b)*5/2 + 64)
	if err := json.Indent(buf, b, "", "  "); err != nil {
		return 0, err
	}
	w.dst = buf.Bytes()
	return len(b), nil
}

// WriteAtomic writes b to path through a temp file in the same folder and a
// rename, so a reader never sees half a report and a crash leaves none.
func WriteAtomic(path string, b []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeAtomic is WriteAtomic with the bytes written by fill.
func writeAtomic(path string, fill func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports: mkdir %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return fmt.Errorf("reports: temp file in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("reports: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("reports: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("reports: close %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("reports: chmod %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("reports: rename to %s: %w", path, err)
	}
	return nil
}

// MoveAtomic puts the file src at path as WriteAtomic would put its bytes
// there: by a rename when both are on one file system (src must be synced
// already), else by a streamed copy through a synced temp file in path's
// folder. src is gone afterwards either way.
func MoveAtomic(src, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("reports: mkdir %s: %w", filepath.Dir(path), err)
	}
	if err := os.Rename(src, path); err == nil {
		// the mode WriteAtomic gives, whatever the writer's umask was
		if err := os.Chmod(path, 0o644); err != nil {
			return fmt.Errorf("reports: chmod %s: %w", path, err)
		}
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("reports: move %s: %w", src, err)
	}
	defer in.Close()
	if err := writeAtomic(path, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	}); err != nil {
		return err
	}
	os.Remove(src)
	return nil
}
