package keysearch

import (
	"math/rand/v2"
	"testing"

	"github.com/tomscan/tomscan/internal/tom/cipher"
)

// passesXOR is tryXOR's first test, byte by byte: every byte of data
// decrypts with key to a byte a list may hold.
func passesXOR(data, key []byte) bool {
	for i, c := range data {
		if !plainByte(c ^ key[i%len(key)]) {
			return false
		}
	}
	return true
}

// checkXORFilter fails t when the filter, before and after its table for
// the key's length is made, disagrees with the byte-by-byte test.
func checkXORFilter(t *testing.T, data, key []byte) {
	f := &xorFilter{data: data}
	want := passesXOR(data, key)
	if !f.allows(key) { // no table yet: it must let every key through
		t.Fatalf("data %x key %x: refused before its table was made", data, key)
	}
	f.spent[len(key)] = buildAfter * len(data) // as if tryXOR had read that much
	if got := f.allows(key); got != want {
		t.Fatalf("data %x key %x: filter %v, byte by byte %v", data, key, got, want)
	}
}

// TestXORFilterIsTheByteTest: on blobs and keys made to pass often (small
// key bytes over printable and GBK-like text, keys with control bytes) and
// random ones, the filter says what the byte-by-byte test says.
func TestXORFilterIsTheByteTest(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 7))
	passed := 0
	for range 20000 {
		data := make([]byte, 1+rng.IntN(300))
		for i := range data {
			switch rng.IntN(3) {
			case 0:
				data[i] = byte(0x20 + rng.IntN(0x5f))
			case 1:
				data[i] = byte(0x81 + rng.IntN(0x7e))
			default:
				data[i] = byte(rng.Uint32())
			}
		}
		key := make([]byte, cipher.MinXORKey+rng.IntN(cipher.MaxXORKey-cipher.MinXORKey+1))
		for i := range key {
			if rng.IntN(4) == 0 {
				key[i] = byte(rng.Uint32())
			} else {
				key[i] = byte(rng.IntN(4)) // keeps much of the text printable
			}
		}
		checkXORFilter(t, data, key)
		if passesXOR(data, key) {
			passed++
		}
	}
	if passed < 100 {
		t.Fatalf("only %d keys passed: the test hardly checks the passing side", passed)
	}
}

func FuzzXORFilter(f *testing.F) {
	f.Add([]byte("法轮功\n六四\n"), []byte{1, 2, 0, 3})
	f.Add([]byte{0x1f, 0x7f, 0xff, 0x00}, []byte{0x20, 0, 0, 0x20, 1})
	f.Fuzz(func(t *testing.T, data, key []byte) {
		if len(key) < cipher.MinXORKey || len(key) > cipher.MaxXORKey || len(data) == 0 {
			return
		}
		checkXORFilter(t, data, key)
	})
}
