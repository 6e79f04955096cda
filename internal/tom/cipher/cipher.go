// Package cipher holds the three ciphers TOM-Skype used for its keyword
// lists and uploaded messages, in both directions (the tests and fixtures
// encrypt; the analysers decrypt): a repeating-key XOR (3.6/3.8), AES-256 in
// ECB mode with PKCS#7 padding (5.x) and DES in ECB mode (the 8-byte key of
// the 3.6/4.0 message upload). ECB is implemented here because the standard
// library offers only the block primitive, on purpose.
package cipher

import (
	"crypto/aes"
	"crypto/des"
	"errors"
	"fmt"
)

// Names as they appear in reports and in the corpus manifest.
const (
	XOR    = "xor"
	AES256 = "aes-256-ecb"
	DES    = "des-ecb"
	None   = "none"
)

// XOR key lengths the era used.
const (
	MinXORKey = 4
	MaxXORKey = 32
)

// ErrPadding is returned when the decrypted tail is not valid padding: the
// surest sign of a wrong key for a block cipher.
var ErrPadding = errors.New("cipher: invalid padding")

// ErrLength is returned for ciphertext that is not a whole number of blocks.
var ErrLength = errors.New("cipher: ciphertext is not a whole number of blocks")

// XORBytes applies a repeating key; it is its own inverse.
func XORBytes(data, key []byte) []byte {
	out := make([]byte, len(data))
	if len(key) == 0 {
		copy(out, data)
		return out
	}
	for i, c := range data {
		out[i] = c ^ key[i%len(key)]
	}
	return out
}

// EncryptAES256ECB pads with PKCS#7 and encrypts with a 32-byte key.
func EncryptAES256ECB(plain, key []byte) ([]byte, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("cipher: aes-256 key is %d bytes, want 32", len(key))
	}
	return encryptECB(plain, key, aes.NewCipher)
}

// DecryptAES256ECB decrypts and strips PKCS#7 padding.
func DecryptAES256ECB(ct, key []byte) ([]byte, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("cipher: aes-256 key is %d bytes, want 32", len(key))
	}
	return decryptECB(ct, key, aes.NewCipher)
}

// EncryptDESECB pads with PKCS#7 (PKCS#5 for an 8-byte block) and encrypts.
func EncryptDESECB(plain, key []byte) ([]byte, error) {
	if len(key) != 8 {
		return nil, fmt.Errorf("cipher: des key is %d bytes, want 8", len(key))
	}
	return encryptECB(plain, key, des.NewCipher)
}

// DecryptDESECB decrypts and strips PKCS#7 padding.
func DecryptDESECB(ct, key []byte) ([]byte, error) {
	if len(key) != 8 {
		return nil, fmt.Errorf("cipher: des key is %d bytes, want 8", len(key))
	}
	return decryptECB(ct, key, des.NewCipher)
}

type blockCipher interface {
	BlockSize() int
	Encrypt(dst, src []byte)
	Decrypt(dst, src []byte)
}

func newBlock[B blockCipher](mk func([]byte) (B, error), key []byte) (blockCipher, error) {
	b, err := mk(key)
	if err != nil {
		return nil, fmt.Errorf("cipher: new block cipher: %w", err)
	}
	return b, nil
}

func encryptECB[B blockCipher](plain, key []byte, mk func([]byte) (B, error)) ([]byte, error) {
	b, err := newBlock(mk, key)
	if err != nil {
		return nil, err
	}
	bs := b.BlockSize()
	pad := bs - len(plain)%bs
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	for i := 0; i < len(buf); i += bs {
		b.Encrypt(buf[i:i+bs], buf[i:i+bs])
	}
	return buf, nil
}

func decryptECB[B blockCipher](ct, key []byte, mk func([]byte) (B, error)) ([]byte, error) {
	b, err := newBlock(mk, key)
	if err != nil {
		return nil, err
	}
	bs := b.BlockSize()
	if len(ct) == 0 || len(ct)%bs != 0 {
		return nil, fmt.Errorf("cipher: %d bytes, block %d: %w", len(ct), bs, ErrLength)
	}
	// The last block first: a wrong key fails the padding check at the cost
	// of one block, not the whole blob.
	last := make([]byte, bs)
	b.Decrypt(last, ct[len(ct)-bs:])
	pad, err := padLength(last)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(ct))
	for i := 0; i < len(ct)-bs; i += bs {
		b.Decrypt(out[i:i+bs], ct[i:i+bs])
	}
	copy(out[len(ct)-bs:], last)
	return out[:len(out)-pad], nil
}

// padLength checks PKCS#7 padding on the last block.
func padLength(last []byte) (int, error) {
	n := int(last[len(last)-1])
	if n == 0 || n > len(last) {
		return 0, ErrPadding
	}
	for _, c := range last[len(last)-n:] {
		if int(c) != n {
			return 0, ErrPadding
		}
	}
	return n, nil
}

// FirstBlockAES decrypts only the first block, for a cheap plausibility
// check before the whole blob is decrypted. ct must hold at least 16 bytes.
func FirstBlockAES(ct, key []byte) ([]byte, error) { return firstBlock(ct, key, aes.NewCipher, 32) }

// FirstBlockDES is FirstBlockAES for DES (8 bytes).
func FirstBlockDES(ct, key []byte) ([]byte, error) { return firstBlock(ct, key, des.NewCipher, 8) }

func firstBlock[B blockCipher](ct, key []byte, mk func([]byte) (B, error), keyLen int) ([]byte, error) {
	if len(key) != keyLen {
		return nil, fmt.Errorf("cipher: key is %d bytes, want %d", len(key), keyLen)
	}
	b, err := newBlock(mk, key)
	if err != nil {
		return nil, err
	}
	bs := b.BlockSize()
	if len(ct) < bs {
		return nil, ErrLength
	}
	out := make([]byte, bs)
	b.Decrypt(out, ct[:bs])
	return out, nil
}
