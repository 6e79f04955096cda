package gen

import (
	"bytes"
	"crypto/aes"
	"crypto/des"
	"crypto/sha256"
	"fmt"
)

// deriveKey makes a key of n bytes from a label, so that the same spec always
// gets the same key and different builds get different keys.
func deriveKey(label string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("tomscan-corpus/%d/%s", i, label)))
		out = append(out, sum[:]...)
	}
	return out[:n]
}

// XOR applies a repeating-key XOR (its own inverse).
func XOR(data, key []byte) []byte {
	out := make([]byte, len(data))
	for i, b := range data {
		out[i] = b ^ key[i%len(key)]
	}
	return out
}

// EncryptAESECB encrypts with AES-256 in ECB mode and PKCS#7 padding, as the
// 5.x clients' lists were.
func EncryptAESECB(plain, key []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	for i := 0; i < len(buf); i += aes.BlockSize {
		block.Encrypt(buf[i:i+aes.BlockSize], buf[i:i+aes.BlockSize])
	}
	return buf, nil
}

// DecryptAESECB reverses EncryptAESECB and checks the padding.
func DecryptAESECB(ct, key []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("aes: ciphertext length %d is not a positive multiple of 16", len(ct))
	}
	out := make([]byte, len(ct))
	for i := 0; i < len(ct); i += aes.BlockSize {
		block.Decrypt(out[i:i+aes.BlockSize], ct[i:i+aes.BlockSize])
	}
	pad := int(out[len(out)-1])
	if pad < 1 || pad > aes.BlockSize || !bytes.Equal(out[len(out)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, fmt.Errorf("aes: bad PKCS#7 padding")
	}
	return out[:len(out)-pad], nil
}

// EncryptDESECB encrypts with single DES in ECB mode and PKCS#7 padding: what
// 3.6/4.0 clients did to uploaded messages.
func EncryptDESECB(plain, key []byte) ([]byte, error) {
	block, err := des.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("des: %w", err)
	}
	pad := des.BlockSize - len(plain)%des.BlockSize
	buf := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	for i := 0; i < len(buf); i += des.BlockSize {
		block.Encrypt(buf[i:i+des.BlockSize], buf[i:i+des.BlockSize])
	}
	return buf, nil
}
