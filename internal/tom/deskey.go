package tom

import (
	"encoding/hex"
	"sort"

	"github.com/tomscan/tomscan/internal/tom/endpoints"
	"github.com/tomscan/tomscan/internal/tom/keysearch"
)

// The 3.6/4.0 clients kept the DES key of the message upload in the same
// static configuration as the URLs and list keys: a run of fields in .rdata,
// each a NUL-terminated string (ASCII or UTF-16) or a raw byte array. Two
// places are searched, from bytes alone:
//
//  1. the field right after the upload URL, when the client holds that URL;
//  2. otherwise the first field after the recovered list keys that is not
//     a string, a recovered key or padding: the end of the configuration.
//
// A field is taken as a key when it is 16 hex digits and a NUL (the key
// written as text) or 8 bytes with at least minKeyDistinct different values
// that do not start a string (the key as raw bytes); right after the upload
// URL also a 7-character C string of mixed character classes.

const (
	minKeyDistinct = 6
	maxFieldWalk   = 1024 // bytes walked past the last recovered key
)

// upHit is an upload URL seen in a node, with the bytes after it.
type upHit struct {
	node  string
	hit   endpoints.Hit
	enc   string
	after []byte // bytes right after the URL's terminator
	at    int64  // node offset of after[0]
}

func desAfterUpload(ups []upHit, known [][]byte) *DESKey {
	sort.Slice(ups, func(i, j int) bool {
		if ups[i].node != ups[j].node {
			return ups[i].node < ups[j].node
		}
		return ups[i].at < ups[j].at
	})
	for _, u := range ups {
		k, ok := keyField(u.after, known)
		if !ok {
			k, ok = cStringKey(u.after)
		}
		if ok {
			return &DESKey{KeyHex: hex.EncodeToString(k), Node: u.node, Offset: u.at, Method: "field-after-upload-url"}
		}
	}
	return nil
}

// keyField reads a key field at the start of b: hex text or raw bytes.
// Keys in known are list keys, not the upload key.
func keyField(b []byte, known [][]byte) ([]byte, bool) {
	if len(b) >= 17 && isHexText(b[:16]) && b[16] == 0 {
		k, err := hex.DecodeString(string(b[:16]))
		if err == nil && !isKnown(k, known) {
			return k, true
		}
		return nil, false
	}
	if len(b) < 8 || stringField(b) > 0 {
		return nil, false // too short, or text (a GBK company name is no key)
	}
	k := b[:8]
	distinct := map[byte]bool{}
	printable := 0
	for _, c := range k {
		distinct[c] = true
		if c >= 0x20 && c < 0x7f {
			printable++
		}
	}
	if len(distinct) < minKeyDistinct || printable == 8 || isKnown(k, known) {
		return nil, false
	}
	return append([]byte(nil), k...), true
}

// cStringKey reads a key written as a C string of 7 characters and its NUL
// (8 bytes, "X7sRUjL\0" style) that mixes at least three of upper case,
// lower case, digits and punctuation: a key, not a word. Only right after
// the upload URL, where nothing but the key is expected.
func cStringKey(b []byte) ([]byte, bool) {
	if len(b) < 8 || b[7] != 0 {
		return nil, false
	}
	var up, low, dig, punct int
	for _, c := range b[:7] {
		switch {
		case c >= 'A' && c <= 'Z':
			up = 1
		case c >= 'a' && c <= 'z':
			low = 1
		case c >= '0' && c <= '9':
			dig = 1
		case c > 0x20 && c < 0x7f && c != '%':
			punct = 1
		default:
			return nil, false
		}
	}
	if up+low+dig+punct < 3 {
		return nil, false
	}
	return append([]byte(nil), b[:8]...), true
}

func isKnown(k []byte, known [][]byte) bool {
	for _, x := range known {
		if len(x) >= len(k) && string(x[:len(k)]) == string(k) {
			return true
		}
	}
	return false
}

func isHexText(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// desAfterKeys walks the configuration fields after the last recovered key
// of a window and returns the first unknown key-like field.
func desAfterKeys(windows []keysearch.Window, keys []keyAt) *DESKey {
	var known [][]byte
	for _, k := range keys {
		known = append(known, k.key)
		if k.hex {
			known = append(known, []byte(hex.EncodeToString(k.key)))
		}
	}
	for _, w := range windows {
		end := int64(-1)
		for _, k := range keys {
			if k.node == w.Node && k.offset >= w.Offset && k.offset < w.Offset+int64(len(w.Data)) {
				e := k.offset + int64(k.size)
				if e > end {
					end = e
				}
			}
		}
		if end < 0 {
			continue
		}
		p := int(end - w.Offset)
		if p < len(w.Data) && w.Data[p] == 0 && isKnownHexEnd(keys, w.Node, end) {
			p++ // the NUL of a hex-text key
		}
		limit := min(len(w.Data), p+maxFieldWalk)
		zeros := 0
		for p < limit {
			b := w.Data[p:limit]
			if n := knownAt(b, known); n > 0 {
				p += n
				zeros = 0
				continue
			}
			if b[0] == 0 {
				if zeros++; zeros > 8 {
					break // the configuration has ended
				}
				p++
				continue
			}
			zeros = 0
			if n := stringField(b); n > 0 {
				if k, ok := keyField(b, known); ok && n == 17 {
					return &DESKey{KeyHex: hex.EncodeToString(k), Node: w.Node, Offset: w.Offset + int64(p), Method: "field-after-list-keys"}
				}
				p += n
				continue
			}
			if k, ok := keyField(b, known); ok {
				return &DESKey{KeyHex: hex.EncodeToString(k), Node: w.Node, Offset: w.Offset + int64(p), Method: "field-after-list-keys"}
			}
			break
		}
	}
	return nil
}

type keyAt struct {
	node   string
	offset int64
	size   int // bytes the key takes in the node (hex text: 2 per byte)
	key    []byte
	hex    bool
}

func isKnownHexEnd(keys []keyAt, node string, end int64) bool {
	for _, k := range keys {
		if k.node == node && k.hex && k.offset+int64(k.size) == end {
			return true
		}
	}
	return false
}

// knownAt returns the length of a known key (raw, or hex text with its NUL)
// at the start of b.
func knownAt(b []byte, known [][]byte) int {
	for _, k := range known {
		if len(k) > 0 && len(b) >= len(k) && string(b[:len(k)]) == string(k) {
			if len(b) > len(k) && b[len(k)] == 0 && isHexText(k) {
				return len(k) + 1
			}
			return len(k)
		}
	}
	return 0
}

// stringField returns the length, terminator included, of a NUL-terminated
// text at the start of b: printable ASCII and GBK pairs (at least 4 bytes),
// or UTF-16LE ASCII (at least 2 characters); else 0.
func stringField(b []byte) int {
	i := 0
	for i < len(b) {
		switch c := b[i]; {
		case c >= 0x20 && c < 0x7f:
			i++
			continue
		case c >= 0x81 && c <= 0xfe && i+1 < len(b) && b[i+1] >= 0x40 && b[i+1] <= 0xfe && b[i+1] != 0x7f:
			i += 2
			continue
		}
		break
	}
	if i >= 4 && i < len(b) && b[i] == 0 {
		return i + 1
	}
	j := 0
	for j+1 < len(b) && b[j] >= 0x20 && b[j] < 0x7f && b[j+1] == 0 {
		j += 2
	}
	if j >= 4 && j+1 < len(b) && b[j] == 0 && b[j+1] == 0 {
		return j + 2
	}
	return 0
}
