// Package keywords holds the two forms of a keyword list, shared by the
// corpus generator (which records the ground truth) and the TOM analysers
// (which recover lists from bytes), so both compute the same digests.
//
// The exact form is evidence: the entries exactly as the decrypted list holds
// them, in file order, duplicates included, whitespace kept. Only the line
// terminator (LF, or CRLF) is not part of an entry, a UTF-8 byte-order mark
// before the first entry is an encoding marker, not text, and a line with no
// byte at all is no entry. Its digest is ExactDigest.
//
// The normalised form is for comparison only and always sits beside the
// exact one, never instead: each entry trimmed of spaces, tabs and CR,
// empties and duplicates dropped, sorted (Canonical, Digest).
package keywords

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// Entries cuts a decrypted list (UTF-8) into its exact entries: one per line,
// the LF or CRLF terminator removed, lines without any byte dropped, a
// leading byte-order mark removed. Nothing else is touched: "x卧底下载 " keeps
// its trailing space and stays distinct from "x卧底下载".
func Entries(text string) []string {
	text = strings.TrimPrefix(text, "\uFEFF")
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			continue
		}
		out = append(out, l)
	}
	return out
}

// Distinct is the distinct exact entries in order of first appearance.
func Distinct(entries []string) []string {
	seen := make(map[string]bool, len(entries))
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// Duplicate is an exact entry that a list holds more than once.
type Duplicate struct {
	Entry string `json:"entry"`
	Count int    `json:"count"`
}

// Duplicates lists the exact entries that occur more than once, in order of
// first appearance, with how often they occur.
func Duplicates(entries []string) []Duplicate {
	n := map[string]int{}
	for _, e := range entries {
		n[e]++
	}
	var out []Duplicate
	for _, e := range Distinct(entries) {
		if n[e] > 1 {
			out = append(out, Duplicate{Entry: e, Count: n[e]})
		}
	}
	return out
}

// ExactDigest is the sha256 of the exact entries in file order, duplicates
// included, each followed by "\n": two lists have the same exact digest only
// when their entries are equal byte for byte and in the same order.
func ExactDigest(entries []string) string {
	h := sha256.New()
	for _, e := range entries {
		h.Write([]byte(e))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Normalise is one entry's comparison form: spaces, tabs, CR, LF and a
// byte-order mark removed at both ends.
func Normalise(e string) string {
	return strings.Trim(strings.TrimPrefix(e, "\uFEFF"), " \t\r\n")
}

// Canonical is the normalised form of a list: each line normalised, empty
// lines and duplicates dropped, the rest sorted by byte order. It merges
// entries that differ only in whitespace: use it to compare, never to report.
func Canonical(lines []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lines {
		l = Normalise(l)
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

// Digest is the sha256 of the normalised list joined by "\n" with a final
// "\n" (the "normalized_sha256" of manifests and reports).
func Digest(lines []string) string {
	return ExactDigest(Canonical(lines))
}
