package inno

// innoextract stops at a damaged or cut stream ("Stream error while
// extracting files!") leaving the file it was writing short or empty, and
// says so once for the installer, not for the file. Our setup-data reader
// knows each file's size and checksum, so every file innoextract wrote is
// held to them: a short, empty or altered file carries the difference as its
// read error, over its bytes as written, instead of passing as a clean child.

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
)

// want is what the setup data says of one file.
type want struct {
	size uint64
	algo string // "sha1", "md5" (setupdata.DataEntry.Checksum), or "" when none is known
	sum  []byte
}

// expected reads our reader's files table (path, ..., size, checksum) into
// the paths innoextract writes. A path the table names twice is left out:
// innoextract renames the second, and which is which is not known.
func expected(files artifact.Table) map[string]want {
	at := map[string]int{}
	for i, c := range files.Columns {
		at[c] = i
	}
	pi, okPath := at["path"]
	si, okSize := at["size"]
	ci, okSum := at["checksum"]
	if !okPath || !okSize || !okSum {
		return nil // innoextract's own listing: no exact sizes
	}
	out := map[string]want{}
	seen := map[string]int{}
	for _, r := range files.Rows {
		if len(r) <= max(pi, si, ci) {
			continue
		}
		seen[r[pi]]++
		size, err := strconv.ParseUint(r[si], 10, 64)
		if err != nil {
			continue
		}
		w := want{size: size}
		if algo, hexSum, ok := strings.Cut(r[ci], ":"); ok {
			if b, err := hex.DecodeString(hexSum); err == nil {
				w.algo, w.sum = algo, b
			}
		}
		out[r[pi]] = w
	}
	for p, n := range seen {
		if n > 1 {
			delete(out, p)
		}
	}
	return out
}

func (w want) reader(r io.Reader) io.Reader {
	c := &checked{r: r, w: w}
	switch w.algo {
	case "sha1":
		c.h = sha1.New()
	case "md5":
		c.h = md5.New()
	}
	return c
}

type checked struct {
	r io.Reader
	w want
	h hash.Hash
	n uint64
}

func (c *checked) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += uint64(k)
	if c.h != nil {
		c.h.Write(p[:k])
	}
	if err == io.EOF {
		if c.n != c.w.size {
			return k, fmt.Errorf("inno: innoextract wrote %d bytes, the setup data says %d", c.n, c.w.size)
		}
		if c.h != nil {
			if got := c.h.Sum(nil); !bytes.Equal(got, c.w.sum) {
				return k, fmt.Errorf("inno: %s %x, the setup data says %x", c.w.algo, got, c.w.sum)
			}
		}
	}
	return k, err
}
