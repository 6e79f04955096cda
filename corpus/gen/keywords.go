package gen

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tomscan/tomscan/internal/keywords"
)

// maxListBytes caps a keyword list read from disk: the real ones are a few KiB.
const maxListBytes = 4 << 20

// KeywordList is one plaintext list, ready to encrypt.
type KeywordList struct {
	Lines  []string // exact entries (keywords.Entries), file order, only those that survive a GBK round trip
	GBK    []byte   // the lines in GBK, CRLF after each
	Digest string   // keywords.ExactDigest(Lines): what a decryption must give back
	Count  int      // distinct exact entries
	// Total counts every entry, duplicates included.
	Total int
	// NormalizedDigest and NormalizedCount are the trimmed, sorted,
	// deduplicated form (keywords.Digest, keywords.Canonical).
	NormalizedDigest string
	NormalizedCount  int
}

// KeywordSource says whether a keyword folder holds the Citizen Lab data or
// the synthetic stand-in shipped in corpus/testdata.
func KeywordSource(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "SYNTHETIC")); err == nil {
		return "synthetic"
	}
	return "citizenlab"
}

// LoadList reads dlist-<family>/<name>.<snapshot>.plain and encodes it in GBK.
// Lines that GBK cannot carry (or that do not come back identical) are
// dropped: the digest is of what the client would really hold.
func LoadList(dir, family, name, snapshot string) (*KeywordList, error) {
	p := filepath.Join(dir, "tom-skype-raw-data", "dlist-"+family, name+"."+snapshot+".plain")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("keywords: open %s: %w", p, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxListBytes+1)); err != nil {
		return nil, fmt.Errorf("keywords: read %s: %w", p, err)
	}
	if buf.Len() > maxListBytes {
		return nil, fmt.Errorf("keywords: %s is larger than %d bytes", p, maxListBytes)
	}
	kl, err := ParseList(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("keywords: %s: %w", p, err)
	}
	return kl, nil
}

// ParseList reads a UTF-8 list (one entry per line, LF or CRLF) and encodes
// it in GBK, CRLF after each line, as the clients held it. Entries are kept
// exactly (keywords.Entries): trailing spaces and duplicates, as in the
// Citizen Lab data, go into the client unchanged.
func ParseList(data []byte) (*KeywordList, error) {
	enc := simplifiedchinese.GBK.NewEncoder()
	dec := simplifiedchinese.GBK.NewDecoder()
	kl := &KeywordList{}
	for _, l := range keywords.Entries(string(data)) {
		if strings.ContainsAny(l, "\r\x00") {
			continue // not a line a client could hold
		}
		g, err := enc.Bytes([]byte(l))
		if err != nil {
			continue
		}
		back, err := dec.Bytes(g)
		if err != nil || string(back) != l {
			continue
		}
		kl.Lines = append(kl.Lines, l)
		kl.GBK = append(append(kl.GBK, g...), '\r', '\n')
	}
	if len(kl.Lines) == 0 {
		return nil, fmt.Errorf("no GBK-encodable line")
	}
	kl.Digest = keywords.ExactDigest(kl.Lines)
	kl.Count = len(keywords.Distinct(kl.Lines))
	kl.Total = len(kl.Lines)
	kl.NormalizedDigest = keywords.Digest(kl.Lines)
	kl.NormalizedCount = len(keywords.Canonical(kl.Lines))
	return kl, nil
}
