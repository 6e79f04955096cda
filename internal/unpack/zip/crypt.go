package zip

// Encrypted ZIP entries: the traditional PKWARE cipher ("ZipCrypto") and
// WinZip AES (AE-1, AE-2; 128, 192, 256 bits), over the standard crypto
// packages. No maintained Go ZIP fork with decryption is served by the module
// proxy, so this is our own code, cross-checked in tests against 7-Zip.
//
// A password is accepted only once the entry proves it: WinZip AES by its
// password verifier and then the HMAC-SHA1 over the whole ciphertext; the
// traditional cipher by its check byte and then a full decrypt, inflate and
// CRC-32 pass. Wrong passwords never produce a child of garbage.

import (
	"archive/zip"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/tomscan/tomscan/internal/unpack"
)

const (
	methodAES      = 99
	aesExtraID     = 0x9901
	aesIterations  = 1000
	aesAuthLen     = 10
	aesVerifierLen = 2
	zipCryptoHead  = 12
	flagEncrypted  = 0x1
	flagDescriptor = 0x8
	flagStrong     = 0x40 // PKWARE strong encryption: not documented openly
)

var (
	errWrongPassword = errors.New("wrong password")
)

// crypto describes how one entry is encrypted.
type crypto struct {
	kind   string // "zipcrypto", "aes-128", "aes-192", "aes-256"
	method uint16 // the compression method under the encryption
	aes    int    // key length in bytes, 0 for ZipCrypto
	ae     int    // AES vendor version: 1 (CRC stored) or 2 (no CRC)
}

// entryCrypto reads how f is encrypted from its flags and extra fields.
func entryCrypto(f *zip.File) (crypto, error) {
	if f.Flags&flagStrong != 0 {
		return crypto{}, fmt.Errorf("PKWARE strong encryption: %w", unpack.ErrUnsupported)
	}
	if f.Method != methodAES {
		return crypto{kind: "zipcrypto", method: f.Method}, nil
	}
	ex := f.Extra
	for len(ex) >= 4 {
		id, n := binary.LittleEndian.Uint16(ex), int(binary.LittleEndian.Uint16(ex[2:]))
		if 4+n > len(ex) {
			break
		}
		if id == aesExtraID && n >= 7 {
			d := ex[4 : 4+n]
			ver, strength, method := int(binary.LittleEndian.Uint16(d)), d[4], binary.LittleEndian.Uint16(d[5:])
			if string(d[2:4]) != "AE" || strength < 1 || strength > 3 || (ver != 1 && ver != 2) {
				return crypto{}, fmt.Errorf("WinZip AES extra field: version %d, vendor %q, strength %d: %w", ver, d[2:4], strength, unpack.ErrUnsupported)
			}
			keyLen := 8 + 8*int(strength)
			return crypto{kind: fmt.Sprintf("aes-%d", keyLen*8), method: method, aes: keyLen, ae: ver}, nil
		}
		ex = ex[4+n:]
	}
	return crypto{}, errors.New("method 99 (WinZip AES) without its 0x9901 extra field")
}

// openPlain returns the entry's plaintext for password pw, or
// errWrongPassword when the cheap checks (AES verifier, ZipCrypto check byte)
// already say no. The stream checks CRC-32 (and for AES the HMAC was checked
// by verify) at its end.
func openPlain(f *zip.File, c crypto, pw string, maxOut int64) (io.ReadCloser, error) {
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, err
	}
	var dec io.Reader
	if c.aes > 0 {
		ctr, n, err := aesStream(raw, c, pw, f.CompressedSize64)
		if err != nil {
			return nil, err
		}
		dec = io.LimitReader(ctr, n)
	} else {
		dec, err = zipCryptoStream(raw, f, pw)
		if err != nil {
			return nil, err
		}
	}
	plain, err := decode(compressed{method: c.method, size: f.UncompressedSize64, r: dec, maxOut: maxOut, sealed: true})
	if err != nil {
		return nil, err
	}
	// AE-2 stores no CRC (the HMAC over the ciphertext is the check), but
	// its size still holds the decompressed bytes to what was declared.
	ae2 := c.aes > 0 && c.ae == 2
	d := unpack.Declared{Size: f.UncompressedSize64, HasSize: true, CRC32: f.CRC32, HasCRC: !ae2}
	return struct {
		io.Reader
		io.Closer
	}{unpack.CheckedReader(plain, d, "decrypted entry"), plain}, nil
}

// verify tells whether pw opens the entry, reading at most max plaintext
// bytes for ZipCrypto (an entry larger than that is accepted on its check
// byte and the bytes read; the engine still reads it through its limits).
func verify(ctx context.Context, f *zip.File, c crypto, pw string, max int64) error {
	if c.aes > 0 {
		return aesAuthenticate(ctx, f, c, pw)
	}
	plain, err := openPlain(f, c, pw, max)
	if err != nil {
		return err
	}
	defer plain.Close()
	_, err = io.Copy(io.Discard, unpack.ContextReader(ctx, io.LimitReader(plain, max), ""))
	if err != nil {
		// A wrong password that passes the check byte (1 in 256) fails here:
		// the inflater sees garbage or the CRC does not match.
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w (%v)", errWrongPassword, err)
	}
	return nil
}

// --- WinZip AES ---

func aesKeys(salt []byte, pw string, keyLen int) (enc, auth, verifier []byte, err error) {
	k, err := pbkdf2.Key(sha1.New, pw, salt, aesIterations, 2*keyLen+aesVerifierLen)
	if err != nil {
		return nil, nil, nil, err
	}
	return k[:keyLen], k[keyLen : 2*keyLen], k[2*keyLen:], nil
}

// aesHeader reads salt and verifier and derives the keys; a verifier
// mismatch is errWrongPassword. n is the ciphertext length.
func aesHeader(raw io.Reader, c crypto, pw string, compressed uint64) (enc, auth []byte, n int64, err error) {
	saltLen := c.aes / 2
	overhead := uint64(saltLen + aesVerifierLen + aesAuthLen)
	if compressed < overhead {
		return nil, nil, 0, fmt.Errorf("WinZip AES entry of %d bytes is shorter than its %d-byte envelope", compressed, overhead)
	}
	head := make([]byte, saltLen+aesVerifierLen)
	if _, err := io.ReadFull(raw, head); err != nil {
		return nil, nil, 0, fmt.Errorf("read AES salt: %w", err)
	}
	enc, auth, pv, err := aesKeys(head[:saltLen], pw, c.aes)
	if err != nil {
		return nil, nil, 0, err
	}
	if subtle.ConstantTimeCompare(pv, head[saltLen:]) != 1 {
		return nil, nil, 0, errWrongPassword
	}
	return enc, auth, int64(compressed - overhead), nil
}

func aesStream(raw io.Reader, c crypto, pw string, compressed uint64) (io.Reader, int64, error) {
	enc, _, n, err := aesHeader(raw, c, pw, compressed)
	if err != nil {
		return nil, 0, err
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, 0, err
	}
	return cipher.StreamReader{S: newWinZipCTR(block), R: io.LimitReader(raw, n)}, n, nil
}

// aesAuthenticate checks the verifier, then the HMAC-SHA1 of the whole
// ciphertext against the stored 10-byte code: a right password, and an
// entry that was not altered.
func aesAuthenticate(ctx context.Context, f *zip.File, c crypto, pw string) error {
	raw, err := f.OpenRaw()
	if err != nil {
		return err
	}
	_, auth, n, err := aesHeader(raw, c, pw, f.CompressedSize64)
	if err != nil {
		return err
	}
	mac := hmac.New(sha1.New, auth)
	if _, err := io.Copy(mac, unpack.ContextReader(ctx, io.LimitReader(raw, n), "")); err != nil {
		return fmt.Errorf("read AES data: %w", err)
	}
	code := make([]byte, aesAuthLen)
	if _, err := io.ReadFull(raw, code); err != nil {
		return fmt.Errorf("read AES authentication code: %w", err)
	}
	if !hmac.Equal(mac.Sum(nil)[:aesAuthLen], code) {
		// The verifier matched (1 in 65536 for a wrong password) but the
		// code does not: a wrong password or altered data, either way unread.
		return fmt.Errorf("%w (HMAC-SHA1 authentication code mismatch)", errWrongPassword)
	}
	return nil
}

// winZipCTR is AES in counter mode as WinZip defines it: a 128-bit
// little-endian counter starting at 1, no nonce (crypto/cipher's CTR counts
// big-endian, so it cannot be used).
type winZipCTR struct {
	block cipher.Block
	ctr   [aes.BlockSize]byte
	ks    [aes.BlockSize]byte
	pos   int
}

func newWinZipCTR(b cipher.Block) *winZipCTR { return &winZipCTR{block: b, pos: aes.BlockSize} }

func (c *winZipCTR) XORKeyStream(dst, src []byte) {
	for i := range src {
		if c.pos == aes.BlockSize {
			for j := range c.ctr {
				c.ctr[j]++
				if c.ctr[j] != 0 {
					break
				}
			}
			c.block.Encrypt(c.ks[:], c.ctr[:])
			c.pos = 0
		}
		dst[i] = src[i] ^ c.ks[c.pos]
		c.pos++
	}
}

// --- traditional PKWARE encryption ---

type zipCryptoKeys [3]uint32

var crcTable = crc32.MakeTable(crc32.IEEE)

func crcUpdate(crc uint32, b byte) uint32 { return crcTable[byte(crc)^b] ^ crc>>8 }

func newZipCryptoKeys(pw string) *zipCryptoKeys {
	k := &zipCryptoKeys{0x12345678, 0x23456789, 0x34567890}
	for i := 0; i < len(pw); i++ {
		k.update(pw[i])
	}
	return k
}

func (k *zipCryptoKeys) update(p byte) {
	k[0] = crcUpdate(k[0], p)
	k[1] = (k[1]+k[0]&0xff)*134775813 + 1
	k[2] = crcUpdate(k[2], byte(k[1]>>24))
}

func (k *zipCryptoKeys) decrypt(b []byte) {
	for i, c := range b {
		t := k[2] | 2
		p := c ^ byte((t*(t^1))>>8)
		k.update(p)
		b[i] = p
	}
}

type zipCryptoReader struct {
	k *zipCryptoKeys
	r io.Reader
}

func (z *zipCryptoReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	z.k.decrypt(p[:n])
	return n, err
}

// zipCryptoStream decrypts the 12-byte header and checks its last byte:
// the CRC's high byte, or with a data descriptor (CRC not known when the
// header was written) the high byte of the DOS modification time.
func zipCryptoStream(raw io.Reader, f *zip.File, pw string) (io.Reader, error) {
	if f.CompressedSize64 < zipCryptoHead {
		return nil, fmt.Errorf("ZipCrypto entry of %d bytes is shorter than its %d-byte header", f.CompressedSize64, zipCryptoHead)
	}
	k := newZipCryptoKeys(pw)
	head := make([]byte, zipCryptoHead)
	if _, err := io.ReadFull(raw, head); err != nil {
		return nil, fmt.Errorf("read ZipCrypto header: %w", err)
	}
	k.decrypt(head)
	want := byte(f.CRC32 >> 24)
	if f.Flags&flagDescriptor != 0 {
		want = byte(f.ModifiedTime >> 8)
	}
	if head[zipCryptoHead-1] != want {
		return nil, errWrongPassword
	}
	return &zipCryptoReader{k: k, r: raw}, nil
}
