package keysearch

import (
	"crypto/des"
	"math/rand/v2"
	"testing"
)

// TestFastDESMatchesCryptoDES: the key search's DES decrypts as crypto/des
// does, on random keys and blocks and on the FIPS 81 example.
func TestFastDESMatchesCryptoDES(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 16))
	key, src := make([]byte, 8), make([]byte, 8)
	var d fastDES
	for i := range 20000 {
		for j := range key {
			key[j], src[j] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		if i == 0 { // FIPS 81: key 0123456789abcdef, "Now is t" -> 3fa40e8a984d4815
			copy(key, []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef})
			copy(src, []byte{0x3f, 0xa4, 0x0e, 0x8a, 0x98, 0x4d, 0x48, 0x15})
		}
		ref, err := des.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		want, got := make([]byte, 8), make([]byte, 8)
		ref.Decrypt(want, src)
		d.setKey(key)
		d.decryptBlock(got, src)
		if string(got) != string(want) {
			t.Fatalf("key %x block %x: got %x, want %x", key, src, got, want)
		}
		if i == 0 && string(got) != "Now is t" {
			t.Fatalf("FIPS 81 example: got %q", got)
		}
	}
}

func BenchmarkDESKeyAndBlock(b *testing.B) {
	key, src, dst := []byte("k3y!s3cr"), []byte("12345678"), make([]byte, 8)
	b.Run("fast", func(b *testing.B) {
		var d fastDES
		for b.Loop() {
			d.setKey(key)
			d.decryptBlock(dst, src)
		}
	})
	b.Run("crypto-des", func(b *testing.B) {
		for b.Loop() {
			c, _ := des.NewCipher(key)
			c.Decrypt(dst, src)
		}
	})
}
