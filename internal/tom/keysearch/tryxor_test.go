package keysearch

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/tomscan/tomscan/internal/tom/cipher"
	"github.com/tomscan/tomscan/internal/tom/lists"
)

// referenceTryXOR is tryXOR as it was before it checked the whole blob
// before decrypting it into a reused buffer: the oracle.
func referenceTryXOR(data, key []byte) (lists.Decoded, bool) {
	zero := true
	for _, c := range key {
		if c != 0 {
			zero = false
			break
		}
	}
	if zero {
		return lists.Decoded{}, false
	}
	n := min(len(data), prefixBytes)
	for i := 0; i < n; i++ {
		if !plainByte(data[i] ^ key[i%len(key)]) {
			return lists.Decoded{}, false
		}
	}
	return lists.Decode(cipher.XORBytes(data, key))
}

// TestTryXORMatchesReference: on lists, lists with a damaged byte far from
// the start, short and printable noise, tryXOR answers as the reference,
// whatever the scratch buffer held before.
func TestTryXORMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 1))
	list := []byte("法轮功\n六四\n达赖喇嘛\nfree tibet\n民主\n天安门\n自由\n台独\n")
	var inputs [][]byte
	for i := 0; i < 4; i++ {
		inputs = append(inputs, list)
	}
	damaged := append([]byte(nil), list...)
	damaged[len(damaged)-3] = 0x01
	inputs = append(inputs, damaged, []byte("ab\ncd"), []byte{}, []byte("just some printable ascii text that is no list at all, really"))
	for i := 0; i < 50; i++ {
		p := make([]byte, 1+rng.IntN(200))
		for j := range p {
			p[j] = byte(0x20 + rng.IntN(0x5f))
		}
		inputs = append(inputs, p)
	}
	var scratch []byte
	accepted := 0
	for i, plain := range inputs {
		for _, n := range []int{1, 4, 7, 16, 32} {
			key := make([]byte, n)
			for j := range key {
				key[j] = byte(rng.IntN(3)) // small keys keep much of the text printable
			}
			data := cipher.XORBytes(plain, key)
			got, gotOK := tryXOR(data, key, &scratch)
			want, wantOK := referenceTryXOR(data, key)
			if gotOK != wantOK || !reflect.DeepEqual(got, want) {
				t.Fatalf("input %d key %x: tryXOR = %v %v, reference %v %v", i, key, got, gotOK, want, wantOK)
			}
			if gotOK {
				accepted++
			}
		}
	}
	if accepted == 0 {
		t.Fatal("no input was accepted: the test compares rejections only")
	}
}
