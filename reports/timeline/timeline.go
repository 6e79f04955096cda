// Package timeline orders builds by version: dotted versions compared
// numerically, for the archive's index (its SQLite collation), exports and
// pages. (The index page's charts are drawn by the page itself, by date:
// reports/archive/templates/index.js.)
package timeline

import (
	"sort"
	"strconv"
	"strings"
)

// CompareVersions orders dotted versions numerically ("5.10" after "5.9");
// non-numeric parts compare as text, and "" sorts last.
func CompareVersions(a, b string) int {
	if a == b {
		return 0
	}
	if a == "" {
		return 1
	}
	if b == "" {
		return -1
	}
	pa, pb := strings.FieldsFunc(a, isSep), strings.FieldsFunc(b, isSep)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		switch {
		case ea == nil && eb == nil:
			if na != nb {
				return cmpInt(na, nb)
			}
		case ea == nil:
			return -1 // numbers before words
		case eb == nil:
			return 1
		default:
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
		}
	}
	if c := cmpInt(len(pa), len(pb)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isSep(r rune) bool { return r == '.' || r == ',' || r == ' ' || r == '-' }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SortByVersion orders items by version (CompareVersions), then by tie.
func SortByVersion[T any](items []T, version func(T) string, tie func(T) string) {
	sort.SliceStable(items, func(i, j int) bool {
		if c := CompareVersions(version(items[i]), version(items[j])); c != 0 {
			return c < 0
		}
		return tie(items[i]) < tie(items[j])
	})
}
