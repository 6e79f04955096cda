// Package keywords is the canonical form of a keyword list, shared by the
// corpus generator (which records the ground truth) and the TOM analysers
// (which recover lists from bytes), so both compute the same digest.
package keywords

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// Canonical trims each line of spaces, tabs, CR and a UTF-8 BOM, drops empty
// lines and duplicates, and sorts the rest by byte order.
func Canonical(lines []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lines {
		l = strings.TrimPrefix(l, "\uFEFF")
		l = strings.Trim(l, " \t\r\n")
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Split cuts a UTF-8 text into lines (LF or CRLF).
func Split(text string) []string { return strings.Split(text, "\n") }

// Digest is the sha256 of the canonical list joined by "\n" with a final "\n":
// the "sha256 of the sorted list" in manifests and reports.
func Digest(lines []string) string {
	c := Canonical(lines)
	h := sha256.New()
	for _, l := range c {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
