package cipher

import (
	"bytes"
	"errors"
	"testing"
)

var list = []byte("\xb7\xa8\xc2\xd6\xb9\xa6\r\n\xc1\xf9\xcb\xc4\r\nabc\r\n") // GBK: 法轮功, 六四, abc

func TestXORRoundTrip(t *testing.T) {
	for _, key := range [][]byte{[]byte("k3y!"), bytes.Repeat([]byte{0x5a, 0xa5}, 16), {0}} {
		ct := XORBytes(list, key)
		if len(key) > 1 && bytes.Equal(ct, list) {
			t.Fatalf("key %x left the data unchanged", key)
		}
		if got := XORBytes(ct, key); !bytes.Equal(got, list) {
			t.Errorf("key %x: round trip = %q", key, got)
		}
	}
	if got := XORBytes(XORBytes(list, []byte("good")), []byte("bad!")); bytes.Equal(got, list) {
		t.Errorf("wrong key decrypted")
	}
}

func TestBlockCiphers(t *testing.T) {
	aesKey := bytes.Repeat([]byte("0123456789abcdef"), 2)
	desKey := []byte("X7sRUjL\x00")
	type codec struct {
		name     string
		enc, dec func(p, k []byte) ([]byte, error)
		key, bad []byte
	}
	for _, c := range []codec{
		{AES256, EncryptAES256ECB, DecryptAES256ECB, aesKey, bytes.Repeat([]byte{1}, 32)},
		{DES, EncryptDESECB, DecryptDESECB, desKey, []byte("wrongkey")},
	} {
		for _, plain := range [][]byte{list, {}, bytes.Repeat([]byte{'a'}, 16)} {
			ct, err := c.enc(plain, c.key)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got, err := c.dec(ct, c.key)
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("%s: round trip of %d bytes = %q, %v", c.name, len(plain), got, err)
			}
			if got, err := c.dec(ct, c.bad); err == nil && bytes.Equal(got, plain) {
				t.Errorf("%s: wrong key decrypted", c.name)
			}
		}
		ct, _ := c.enc(list, c.key)
		if _, err := c.dec(ct[:len(ct)-1], c.key); !errors.Is(err, ErrLength) {
			t.Errorf("%s: short blob: err = %v, want ErrLength", c.name, err)
		}
		if _, err := c.dec(nil, c.key); !errors.Is(err, ErrLength) {
			t.Errorf("%s: empty blob: err = %v, want ErrLength", c.name, err)
		}
		if _, err := c.dec(ct, c.key[:5]); err == nil {
			t.Errorf("%s: short key accepted", c.name)
		}
	}
}

func TestPaddingRejectsWrongKeys(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	ct, _ := EncryptAES256ECB(bytes.Repeat(list, 20), key)
	bad := 0
	for i := 0; i < 256; i++ {
		k := append([]byte(nil), key...)
		k[0] = byte(i)
		if i == 7 {
			continue
		}
		if _, err := DecryptAES256ECB(ct, k); errors.Is(err, ErrPadding) {
			bad++
		}
	}
	// A wrong key passes the padding check about once in 256 tries.
	if bad < 250 {
		t.Errorf("only %d of 255 wrong keys failed the padding check", bad)
	}
}

func TestFirstBlock(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 32)
	ct, _ := EncryptAES256ECB(list, key)
	b, err := FirstBlockAES(ct, key)
	if err != nil || !bytes.Equal(b, list[:16]) {
		t.Fatalf("FirstBlockAES = %q, %v", b, err)
	}
	dk := []byte("12345678")
	ct, _ = EncryptDESECB(list, dk)
	b, err = FirstBlockDES(ct, dk)
	if err != nil || !bytes.Equal(b, list[:8]) {
		t.Fatalf("FirstBlockDES = %q, %v", b, err)
	}
	if _, err := FirstBlockDES(ct[:7], dk); !errors.Is(err, ErrLength) {
		t.Errorf("7-byte blob: %v", err)
	}
}

func FuzzDecrypt(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef"), []byte("12345678"))
	f.Fuzz(func(t *testing.T, ct, key []byte) {
		k32 := make([]byte, 32)
		copy(k32, key)
		if p, err := DecryptAES256ECB(ct, k32); err == nil && len(p) >= len(ct) {
			t.Fatalf("padding not stripped")
		}
		k8 := make([]byte, 8)
		copy(k8, key)
		_, _ = DecryptDESECB(ct, k8)
	})
}
