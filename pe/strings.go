package pe

import (
	"context"
	"sort"
	"unicode/utf16"
)

// String is one printable run found in a blob.
type String struct {
	Offset   int64  `json:"offset"`
	Encoding string `json:"encoding"`        // "ascii", "utf16le", "gbk"
	Value    string `json:"value"`           // UTF-8
	Where    string `json:"where,omitempty"` // PE section or resource, when known
}

// StringSet is the strings of one node, deduplicated, in offset order.
type StringSet struct {
	Count     int      `json:"count"`     // distinct strings found before the cap
	Truncated bool     `json:"truncated"` // the per-node cap was hit
	Strings   []String `json:"strings"`
}

// StringOptions tune ExtractStrings.
type StringOptions struct {
	MinLength int // characters
	Max       int // strings kept; 0 keeps none but still counts
}

// ExtractStrings finds ASCII and UTF-16LE runs of at least MinLength
// characters. Each distinct (encoding, value) is kept once, at its first offset.
func ExtractStrings(ctx context.Context, b []byte, opts StringOptions) *StringSet {
	min := opts.MinLength
	if min < 1 {
		min = 4
	}
	var all []String
	seen := map[string]bool{}
	add := func(s String) {
		k := s.Encoding + "\x00" + s.Value
		if seen[k] {
			return
		}
		seen[k] = true
		all = append(all, s)
	}
	// ASCII
	start := -1
	for i := 0; i <= len(b); i++ {
		if i%(1<<20) == 0 && ctx.Err() != nil {
			break
		}
		if i < len(b) && isPrint(b[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= min {
			add(String{Offset: int64(start), Encoding: "ascii", Value: string(b[start:i])})
		}
		start = -1
	}
	// UTF-16LE, both alignments
	for align := 0; align < 2; align++ {
		var run []uint16
		runStart := -1
		flush := func() {
			if len(run) >= min {
				add(String{Offset: int64(runStart), Encoding: "utf16le", Value: string(utf16.Decode(run))})
			}
			run, runStart = run[:0], -1
		}
		for i := align; i+1 < len(b); i += 2 {
			c := uint16(b[i]) | uint16(b[i+1])<<8
			if c < 0x100 && isPrint(byte(c)) {
				if runStart < 0 {
					runStart = i
				}
				run = append(run, c)
				continue
			}
			flush()
		}
		flush()
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Offset != all[j].Offset {
			return all[i].Offset < all[j].Offset
		}
		return all[i].Encoding < all[j].Encoding
	})
	set := &StringSet{Count: len(all)}
	if opts.Max >= 0 && len(all) > opts.Max {
		all = all[:opts.Max]
		set.Truncated = true
	}
	set.Strings = all
	return set
}

func isPrint(c byte) bool { return (c >= 0x20 && c < 0x7f) || c == '\t' }
