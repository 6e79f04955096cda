package keysearch

import (
	"sync"

	"github.com/tomscan/tomscan/internal/tom/cipher"
)

// An XOR key of length n passes tryXOR's first test, that every byte of the
// blob decrypts to a byte a list may hold (plainByte), exactly when each of
// its bytes key[r] avoids the values that would make some blob byte at a
// position ≡ r (mod n) a control, 0x7f or 0xff. xorFilter keeps, per length
// and residue, that set of forbidden key bytes, made from the blob once, so
// a key is tested in n lookups instead of a pass over the blob: on lists
// encrypted with small keys most candidate keys passed long stretches of
// the blob before failing, and that pass was most of a TOM build's search.

// forbiddenWith()[d] is the set of key bytes k for which d^k is no byte of a
// list (the complement of plainByte).
// Made on first use: most processes never build an xorFilter table.
var forbiddenWith = sync.OnceValue(func() *[256][4]uint64 {
	var t [256][4]uint64
	for d := range 256 {
		for k := range 256 {
			if !plainByte(byte(d ^ k)) {
				t[d][k>>6] |= 1 << (k & 63)
			}
		}
	}
	return &t
})

// xorFilter is one blob's forbidden key bytes, per key length and residue.
// A length's table costs about four passes over the blob, so it is made
// only once tryXOR has read that many bytes of the blob for keys of that
// length: on random bytes, where wrong keys fail within a few bytes, it
// never is, and the search costs what it did.
type xorFilter struct {
	data   []byte
	forbid [cipher.MaxXORKey + 1][][4]uint64
	spent  [cipher.MaxXORKey + 1]int // bytes tryXOR read for keys of each length
}

// buildAfter is how many passes over the blob tryXOR makes for one key
// length before that length's table is made.
const buildAfter = 4

// allows tells whether key may pass tryXOR's whole-blob test on the
// filter's blob (key is MinXORKey to MaxXORKey bytes long): false is
// certain; true is certain once the length's table is made, and before
// that says only that tryXOR must look.
func (f *xorFilter) allows(key []byte) bool {
	n := len(key)
	rows := f.forbid[n]
	if rows == nil {
		if f.spent[n] < buildAfter*len(f.data) {
			return true
		}
		rows = make([][4]uint64, n)
		fws := forbiddenWith()
		for i, d := range f.data {
			r := &rows[i%n]
			fw := &fws[d]
			r[0] |= fw[0]
			r[1] |= fw[1]
			r[2] |= fw[2]
			r[3] |= fw[3]
		}
		f.forbid[n] = rows
	}
	for r, c := range key {
		if rows[r][c>>6]>>(c&63)&1 != 0 {
			return false
		}
	}
	return true
}
