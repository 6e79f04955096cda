// Package keysearch recovers encrypted keyword lists: it tries candidate
// keys taken from a build's own bytes on the build's candidate blobs, for
// repeating-key XOR (4 to 32 bytes), AES-256-ECB and DES-ECB, and accepts a
// key only when the plaintext passes lists.Decode.
//
// Candidate keys come from Windows: byte ranges of a client PE around a
// keyword-list URL (the era's clients kept the key within 4 KiB of it). Every
// offset of a window starts a candidate: 32 bytes for AES, 8 for DES, 4 to 32
// for XOR; hex text in the window (a key written as ASCII hex) is decoded and
// tried as well. Each trial first decrypts a few bytes and runs
// lists.Prefix, so a wrong key costs a handful of byte operations; the whole
// blob is decrypted only for survivors.
//
// The work is bounded by Limits.MaxTrials (key offsets × blobs); when it is
// reached Search stops and says so, so the report can record a limit hit.
package keysearch

import (
	"context"
	"crypto/aes"
	stdcipher "crypto/cipher"
	"encoding/hex"
	"regexp"
	"sort"
	"sync"

	"github.com/tomscan/tomscan/internal/tom/cipher"
	"github.com/tomscan/tomscan/internal/tom/lists"
)

// Window is a byte range of a node that may hold a key.
type Window struct {
	Node   string // node ID
	Offset int64  // node offset of Data[0]
	Data   []byte
}

// Blob is a candidate encrypted (or plain) list.
type Blob struct {
	Node     string // node ID
	Location string // "rcdata", "installer-file", "cache-file"
	Resource string // "[rsrc]/RCDATA/<name>/<lang>" for an RCDATA leaf
	Offset   int64  // node offset of Data[0]
	Data     []byte
}

// Found is one recovered list.
type Found struct {
	Blob       int    // index into the blobs given to Search
	Cipher     string // cipher.XOR, cipher.AES256, cipher.DES, cipher.None
	Key        []byte // nil for cipher.None
	KeyNode    string
	KeyOffset  int64
	KeyFromHex bool // the key was written as hex text at KeyOffset
	List       lists.Decoded
}

// Limits bound a search.
type Limits struct {
	MaxTrials     int // key start offsets × blobs; 0 means DefaultMaxTrials
	MinPlainLines int // lines a plaintext list found as is needs; 0 means DefaultMinPlainLines
}

// Defaults: 8 windows of 8 KiB against 16 blobs is about a million trials,
// a few seconds on one core in the worst case.
const (
	DefaultMaxTrials     = 2_000_000
	DefaultMinPlainLines = 8
	prefixBytes          = 64
)

// hexRun is compiled at first use, not at start: every tomscan process
// (a scan's parent, each worker) links this package, and the bounded
// repetition compiles to a program of some size (0.6-0.9 ms, GODEBUG=inittrace=1).
var hexRun = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[0-9A-Fa-f]{8,64}`) })

// Search tries every candidate key on every blob. It returns the lists it
// recovered, in blob order, and whether MaxTrials cut the search short.
// For each blob the key found is the first in window order, then offset
// order, then AES, DES, XOR by increasing length, whatever other blobs hold.
func Search(ctx context.Context, windows []Window, blobs []Blob, lim Limits) (found []Found, truncated bool) {
	if lim.MaxTrials <= 0 {
		lim.MaxTrials = DefaultMaxTrials
	}
	if lim.MinPlainLines <= 0 {
		lim.MinPlainLines = DefaultMinPlainLines
	}
	results := make([]*Found, len(blobs))
	var open []int // blobs still without a list
	for bi, b := range blobs {
		if d, ok := lists.Decode(b.Data); ok {
			if len(d.Lines) >= lim.MinPlainLines {
				results[bi] = &Found{Blob: bi, Cipher: cipher.None, List: d}
			}
			continue
		}
		open = append(open, bi)
	}
	collect := func() []Found {
		var out []Found
		for _, f := range results {
			if f != nil {
				out = append(out, *f)
			}
		}
		return out
	}
	trials := 0
	var k offsetKeys
	for _, w := range windows {
		if len(open) == 0 {
			break
		}
		// Hex-written keys first: they are exact, so cheap.
		for _, loc := range hexRun().FindAllIndex(w.Data, -1) {
			run := w.Data[loc[0]:loc[1]]
			if len(run)%2 != 0 {
				run = run[:len(run)-1]
			}
			key, err := hex.DecodeString(string(run))
			if err != nil {
				continue
			}
			open = filterOpen(open, func(bi int) bool {
				c, d, ok := tryKey(blobs[bi].Data, key, &k.plain)
				if ok {
					results[bi] = &Found{Blob: bi, Cipher: c, Key: key, KeyNode: w.Node, KeyOffset: w.Offset + int64(loc[0]), KeyFromHex: true, List: d}
				}
				return ok
			})
		}
		for p := 0; p < len(w.Data) && len(open) > 0; p++ {
			if trials+len(open) > lim.MaxTrials {
				return collect(), true
			}
			trials += len(open)
			if p%256 == 0 && ctx.Err() != nil {
				return collect(), true
			}
			k.reset(w.Data[p:])
			open = filterOpen(open, func(bi int) bool {
				c, key, d, ok := k.try(bi, blobs[bi].Data)
				if ok {
					results[bi] = &Found{Blob: bi, Cipher: c, Key: key, KeyNode: w.Node, KeyOffset: w.Offset + int64(p), List: d}
				}
				return ok
			})
		}
	}
	return collect(), false
}

// filterOpen keeps the blobs for which solved is false.
func filterOpen(open []int, solved func(int) bool) []int {
	out := open[:0]
	for _, bi := range open {
		if !solved(bi) {
			out = append(out, bi)
		}
	}
	return out
}

// offsetKeys are the keys that start at one offset. One value serves the
// whole search: reset moves it to the next offset, and the block ciphers'
// key schedules are computed at most once per offset, when a blob first
// needs them (a blob whose length is no multiple of the block is never
// tried with that cipher), with nothing allocated for DES.
type offsetKeys struct {
	rest             []byte
	aesBlock         stdcipher.Block
	aesDone, desDone bool
	des              fastDES
	plain            []byte       // tryXOR's plaintext buffer, reused
	xor              []*xorFilter // per blob, made when XOR keys are first tried on it
}

// xorFilter is blob bi's filter, made on first use.
func (k *offsetKeys) xorFilter(bi int, data []byte) *xorFilter {
	for len(k.xor) <= bi {
		k.xor = append(k.xor, nil)
	}
	if k.xor[bi] == nil {
		k.xor[bi] = &xorFilter{data: data}
	}
	return k.xor[bi]
}

func (k *offsetKeys) reset(rest []byte) {
	k.rest, k.aesBlock, k.aesDone, k.desDone = rest, nil, false, false
}

func (k *offsetKeys) try(bi int, data []byte) (string, []byte, lists.Decoded, bool) {
	var first [16]byte
	if len(k.rest) >= 32 && len(data) >= 16 && len(data)%16 == 0 {
		if !k.aesDone {
			k.aesBlock, _ = aes.NewCipher(k.rest[:32])
			k.aesDone = true
		}
		k.aesBlock.Decrypt(first[:16], data[:16])
		if lists.Prefix(first[:16]) && k.padded(data, 16) {
			if d, ok := tryAES(data, k.rest[:32]); ok {
				return cipher.AES256, clone(k.rest[:32]), d, true
			}
		}
	}
	if len(k.rest) >= 8 && len(data) >= 8 && len(data)%8 == 0 {
		if !k.desDone {
			k.des.setKey(k.rest[:8])
			k.desDone = true
		}
		// Early rejection: crypto/des decrypts the whole blob only for
		// keys whose first block reads as a list (a third of wrong keys)
		// and whose last block holds valid padding (1 in 200 of those).
		k.des.decryptBlock(first[:8], data[:8])
		if lists.Prefix(first[:8]) && k.padded(data, 8) {
			if d, ok := tryDES(data, k.rest[:8]); ok {
				return cipher.DES, clone(k.rest[:8]), d, true
			}
		}
	}
	// Byte i < n decrypts with rest[i] whatever the key length n, so the
	// leading bytes that pass with the window itself as key bound the
	// lengths worth trying.
	good := 0
	for good < len(data) && good < len(k.rest) && good < cipher.MaxXORKey && plainByte(data[good]^k.rest[good]) {
		good++
	}
	if len(data) < 2*lists.MinLines || len(data) > lists.MaxListBytes {
		return "", nil, lists.Decoded{}, false // no list, whatever the key (tryXOR's first test)
	}
	f := k.xorFilter(bi, data)
	for n := cipher.MinXORKey; n <= cipher.MaxXORKey && n <= len(k.rest); n++ {
		if n > good && good < len(data) {
			break // byte good fails for this and every longer key
		}
		if !f.allows(k.rest[:n]) {
			continue // tryXOR would find a byte no list holds
		}
		if d, ok := tryXORCounting(data, k.rest[:n], &k.plain, &f.spent[n]); ok {
			return cipher.XOR, clone(k.rest[:n]), d, true
		}
	}
	return "", nil, lists.Decoded{}, false
}

// padded decrypts the last block of data with this offset's AES (bs 16) or
// DES (bs 8) key and reports whether it ends in valid PKCS#7 padding, as
// cipher.DecryptAES256ECB and DecryptDESECB require.
func (k *offsetKeys) padded(data []byte, bs int) bool {
	var last [16]byte
	if bs == 16 {
		k.aesBlock.Decrypt(last[:16], data[len(data)-16:])
	} else {
		k.des.decryptBlock(last[:8], data[len(data)-8:])
	}
	n := int(last[bs-1])
	if n == 0 || n > bs {
		return false
	}
	for _, c := range last[bs-n : bs] {
		if int(c) != n {
			return false
		}
	}
	return true
}

// plainByte is lists.Prefix for one byte.
func plainByte(c byte) bool {
	return !(c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f || c == 0xff)
}

// tryKey tries one exact key with every cipher its length allows.
func tryKey(data, key []byte, scratch *[]byte) (string, lists.Decoded, bool) {
	switch {
	case len(key) == 32 && len(data)%16 == 0:
		if d, ok := tryAES(data, key); ok {
			return cipher.AES256, d, true
		}
	case len(key) == 8 && len(data)%8 == 0:
		if d, ok := tryDES(data, key); ok {
			return cipher.DES, d, true
		}
	}
	if len(key) >= cipher.MinXORKey && len(key) <= cipher.MaxXORKey {
		if d, ok := tryXOR(data, key, scratch); ok {
			return cipher.XOR, d, true
		}
	}
	return "", lists.Decoded{}, false
}

func tryAES(data, key []byte) (lists.Decoded, bool) {
	first, err := cipher.FirstBlockAES(data, key)
	if err != nil || !lists.Prefix(first) {
		return lists.Decoded{}, false
	}
	plain, err := cipher.DecryptAES256ECB(data, key)
	if err != nil {
		return lists.Decoded{}, false
	}
	return lists.Decode(plain)
}

func tryDES(data, key []byte) (lists.Decoded, bool) {
	first, err := cipher.FirstBlockDES(data, key)
	if err != nil || !lists.Prefix(first) {
		return lists.Decoded{}, false
	}
	plain, err := cipher.DecryptDESECB(data, key)
	if err != nil {
		return lists.Decoded{}, false
	}
	return lists.Decode(plain)
}

func tryXOR(data, key []byte, scratch *[]byte) (lists.Decoded, bool) {
	return tryXORCounting(data, key, scratch, nil)
}

// tryXORCounting is tryXOR that adds to *read (when set) the bytes of the
// blob it read before deciding.
func tryXORCounting(data, key []byte, scratch *[]byte, read *int) (lists.Decoded, bool) {
	zero := true
	for _, c := range key {
		if c != 0 {
			zero = false
			break
		}
	}
	if zero {
		return lists.Decoded{}, false // the plaintext itself: found as is, or not at all
	}
	// lists.Decode rejects what is too short or too long and any plaintext
	// with a control byte; those tests are made here on the fly, so a key
	// that fails them costs no allocation and no copy of the blob. Most
	// keys fail in the first bytes; the rest of the blob is checked only
	// for those that pass the first prefixBytes.
	if len(data) < 2*lists.MinLines || len(data) > lists.MaxListBytes {
		return lists.Decoded{}, false
	}
	// Key-length strides: no division per byte.
	for at := 0; at < len(data); at += len(key) {
		chunk := data[at:min(at+len(key), len(data))]
		for j, c := range chunk {
			c ^= key[j]
			if c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f || c == 0xff {
				if read != nil {
					*read += at + j + 1
				}
				return lists.Decoded{}, false
			}
		}
	}
	if read != nil {
		*read += len(data)
	}
	// The plaintext goes to a buffer reused over the whole search:
	// lists.Decode keeps no reference to its input.
	if cap(*scratch) < len(data) {
		*scratch = make([]byte, len(data))
	}
	plain := (*scratch)[:len(data)]
	for at := 0; at < len(data); at += len(key) {
		end := min(at+len(key), len(data))
		for j, c := range data[at:end] {
			plain[at+j] = c ^ key[j]
		}
	}
	return lists.Decode(plain)
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// SortWindows orders windows by node and offset and merges overlapping
// ranges of one node, so a key is found at one place whatever the visiting
// order and no offset is tried twice.
func SortWindows(ws []Window) []Window {
	sort.Slice(ws, func(i, j int) bool {
		if ws[i].Node != ws[j].Node {
			return ws[i].Node < ws[j].Node
		}
		return ws[i].Offset < ws[j].Offset
	})
	var out []Window
	for _, w := range ws {
		if k := len(out) - 1; k >= 0 && out[k].Node == w.Node && w.Offset <= out[k].Offset+int64(len(out[k].Data)) {
			last := &out[k]
			end := last.Offset + int64(len(last.Data))
			if wEnd := w.Offset + int64(len(w.Data)); wEnd > end {
				last.Data = append(clone(last.Data), w.Data[end-w.Offset:]...)
			}
			continue
		}
		out = append(out, w)
	}
	return out
}
