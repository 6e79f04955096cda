package sevenzip

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// outerHeader parses the (plain) encoded header of a 7z archive: the
// streams info of the folder that holds the real, encrypted header.
func outerHeader(t *testing.T, data []byte) (*cursor, *streamsInfo, int) {
	t.Helper()
	nextOff := int(binary.LittleEndian.Uint64(data[12:]))
	nextSize := int(binary.LittleEndian.Uint64(data[20:]))
	hdr := data[32+nextOff : 32+nextOff+nextSize]
	if hdr[0] != idEncodedHeader {
		t.Fatalf("header id %#x, want an encoded header", hdr[0])
	}
	c := &cursor{b: hdr, archiveSize: int64(len(data)), base: 32}
	c.p = 1
	si, err := c.streamsInfo()
	if err != nil {
		t.Fatal(err)
	}
	return c, si, 32 + nextOff
}

// TestEncryptedHeaderDecrypted: the header of archives made by 7zz with
// -mhe=on (LZMA then AES, and AES alone with -mhc=off) is decrypted with
// the right password of a list, to the header 7-Zip lists; a list without
// it decrypts nothing and leaves the archive to the library (which says
// encrypted).
func TestEncryptedHeaderDecrypted(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	for _, mhc := range []string{"-mhc=on", "-mhc=off"} {
		t.Run(mhc, func(t *testing.T) {
			data := unpacktest.Build(t, fixtureFiles(), "a.7z", "7zz", "a", "-bd", "-pmalware", "-mhe=on", mhc, "a.7z", "app", "readme.txt")
			c, si, _ := outerHeader(t, data)
			r := bytes.NewReader(data)
			plain, err := c.decryptHeader(r, si, []string{"wrong", "malware"})
			if err != nil || len(plain) == 0 || plain[0] != idHeader {
				t.Fatalf("right password: header %x..., err %v", plain[:min(len(plain), 8)], err)
			}
			if !si.hasCRC || crc32.ChecksumIEEE(plain) != si.folderCRC {
				t.Errorf("decrypted header does not have the folder's CRC")
			}
			d := &cursor{b: plain, archiveSize: int64(len(data)), base: 32}
			d.p = 1
			if err := d.header(); err != nil {
				t.Errorf("decrypted header refused: %v", err)
			}
			if plain, err := c.decryptHeader(r, si, []string{"wrong", "infected"}); plain != nil || err != nil {
				t.Errorf("wrong passwords: header %d bytes, err %v", len(plain), err)
			}
			if err := CheckHeaderPasswords(r, int64(len(data)), []string{"malware"}); err != nil {
				t.Errorf("a sound archive refused: %v", err)
			}
		})
	}
}

// TestEncryptedHeaderLie: an encrypted header whose plain text declares
// 2^31 files (the lie the library would allocate for), encrypted with a
// password of the list and every CRC fixed, is malformed, found before the
// library opens it; without the password the archive stays `encrypted`.
func TestEncryptedHeaderLie(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data := unpacktest.Build(t, fixtureFiles(), "a.7z", "7zz", "a", "-bd", "-pinfected", "-mhe=on", "-mhc=off", "a.7z", "app", "readme.txt")
	c, si, hdrAt := outerHeader(t, data)
	f := si.folders[0]
	if len(f.coders) != 1 || !bytes.Equal(f.coders[0].id, coderAES) {
		t.Fatalf("-mhc=off: coders %v, want AES alone", f.coders)
	}
	a, err := parseAESProps(f.coders[0].props)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(a.key("infected"))
	at := int(c.base) + int(si.packPos)
	packed := data[at : at+int(si.packSizes[0])]
	// The lie, padded to the real header's length so that no size changes.
	lie := make([]byte, f.unpack[0])
	copy(lie, []byte{idHeader, idFilesInfo, 0xF0, 0x00, 0x00, 0x00, 0x80})
	plain := make([]byte, len(packed))
	copy(plain, lie)
	lied := bytes.Clone(data)
	cipher.NewCBCEncrypter(block, a.iv[:]).CryptBlocks(lied[at:at+len(packed)], plain)
	// The folder CRC in the encoded header, then the start header's CRCs.
	old := binary.LittleEndian.AppendUint32(nil, si.folderCRC)
	hdr := lied[hdrAt : hdrAt+c.left()+c.p]
	i := bytes.LastIndex(hdr, old)
	if i < 0 {
		t.Fatal("folder CRC not found in the encoded header")
	}
	binary.LittleEndian.PutUint32(hdr[i:], crc32.ChecksumIEEE(lie))
	binary.LittleEndian.PutUint32(lied[28:], crc32.ChecksumIEEE(hdr))
	binary.LittleEndian.PutUint32(lied[8:], crc32.ChecksumIEEE(lied[12:32]))

	err = CheckHeaderPasswords(bytes.NewReader(lied), int64(len(lied)), []string{"infected"})
	if !errors.Is(err, unpack.ErrMalformed) || !strings.Contains(err.Error(), "number of files") {
		t.Errorf("with the password: %v, want malformed number of files", err)
	}
	// Through the extractor with the default list (which holds "infected").
	var res *unpacktest.Result
	n := allocated(func() { res = unpacktest.Run(t, Extractor{}, lied, unpacktest.Options{}) })
	if !errors.Is(res.Err, unpack.ErrMalformed) {
		t.Errorf("extractor: err %v issues %v, want malformed", res.Err, res.Issues)
	}
	if n > 64<<20 {
		t.Errorf("allocated %d MB refusing the archive", n>>20)
	}
	// Without the password: encrypted, nothing listed.
	pws, _ := unpack.PasswordList([]string{"not-it"}, "")
	pws = slices.DeleteFunc(pws, func(p unpack.Password) bool { return p.Value != "not-it" })
	res = unpacktest.Run(t, Extractor{}, lied, unpacktest.Options{Passwords: pws})
	if res.Err != nil || len(res.Files) != 0 || len(res.Issues) != 1 || !strings.HasPrefix(res.Issues[0], "encrypted: ") {
		t.Errorf("without the password: err %v files %v issues %v", res.Err, res.Names(), res.Issues)
	}
}
