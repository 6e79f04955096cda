package gen

// Wrappers of issue 13: tarballs (GNU tar, then gzip or xz), a ZIP shared the
// way samples are (ZipCrypto, password "infected") and an encrypted 7z
// (header and content, password "infected").

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
)

// SharingPassword is the password the corpus's encrypted builds use: the
// sample-sharing convention tomscan tries by default.
const SharingPassword = "infected"

// tarWrappers are the tarball wrappers and the compressor after tar.
var tarWrappers = map[string]string{"tar": "", "tar.gz": "gzip", "tar.xz": "xz"}

// makeTarball writes a GNU tar of names (sorted, fixed owner and time) and
// compresses it. The compressed layer's child is the tar, named as the
// unpacker names it: the container's name without its compression
// extension.
func (b *builder) makeTarball(ctx context.Context, w, dir, out string, outermost bool, names []string, entries []Entry) ([]Entry, error) {
	tarPath := filepath.Join(dir, "out.tar")
	args := append([]string{"-c", "-f", tarPath, "--format=gnu", "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
		"--mtime=@" + strconv.Itoa(fixedEpoch), "--"}, names...)
	if _, err := run(ctx, filepath.Join(dir, "in"), nil, "tar", args...); err != nil {
		return nil, fmt.Errorf("wrap %s: %w", w, err)
	}
	comp := tarWrappers[w]
	if comp == "" {
		return entries, nil
	}
	cargs := []string{"-n", "-9", "-k", "-f", "out.tar"} // -n: no name or time in the header
	if comp == "xz" {
		cargs = []string{"-9", "-k", "-f", "-T1", "out.tar"}
	}
	if _, err := run(ctx, dir, nil, comp, cargs...); err != nil {
		return nil, fmt.Errorf("wrap %s: %w", w, err)
	}
	if got := filepath.Join(dir, "out."+w); got != out {
		if err := os.Rename(got, out); err != nil {
			return nil, fmt.Errorf("wrap %s: %w", w, err)
		}
	}
	tarData, err := os.ReadFile(tarPath)
	if err != nil {
		return nil, fmt.Errorf("wrap %s: %w", w, err)
	}
	base := b.spec.ID
	if !outermost {
		base = "SkypeSetup"
	}
	return []Entry{{Name: base + ".tar", Data: tarData, Role: "other", Children: entries}}, nil
}

// makeZipCrypto writes a ZIP whose entries are deflated and encrypted with
// the traditional PKWARE cipher under SharingPassword. Info-ZIP fills the
// 12-byte encryption header with random bytes; here they come from the
// entry's hash, so the corpus stays byte-identical run after run. 7-Zip
// decrypts it in the corpus tests, independently of tomscan's reader.
func makeZipCrypto(entries []Entry, out string) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		var comp bytes.Buffer
		fw, err := flate.NewWriter(&comp, flate.BestCompression)
		if err != nil {
			return err
		}
		fw.Write(e.Data)
		fw.Close()
		crc := crc32.ChecksumIEEE(e.Data)
		seed := sha256.Sum256(append([]byte(e.Name+"\x00"), e.Data...))
		head := append(seed[:11:11], byte(crc>>24))
		enc := append(head, comp.Bytes()...)
		keys := zipCryptoInit(SharingPassword)
		keys.encrypt(enc)
		hdr := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Flags: 0x1, CRC32: crc,
			CompressedSize64: uint64(len(enc)), UncompressedSize64: uint64(len(e.Data)), Modified: fixedTime}
		w, err := zw.CreateRaw(hdr)
		if err != nil {
			return fmt.Errorf("wrap zip-infected: %w", err)
		}
		if _, err := w.Write(enc); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("wrap zip-infected: %w", err)
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

type zipCryptoState [3]uint32

func zipCryptoInit(pw string) *zipCryptoState {
	k := &zipCryptoState{0x12345678, 0x23456789, 0x34567890}
	for i := 0; i < len(pw); i++ {
		k.update(pw[i])
	}
	return k
}

func (k *zipCryptoState) update(p byte) {
	k[0] = crc32.IEEETable[byte(k[0])^p] ^ k[0]>>8
	k[1] = (k[1]+k[0]&0xff)*134775813 + 1
	k[2] = crc32.IEEETable[byte(k[2])^byte(k[1]>>24)] ^ k[2]>>8
}

// encrypt enciphers b in place (APPNOTE 6.1.6: the key stream depends on
// the plaintext, so encryption updates with the clear byte).
func (k *zipCryptoState) encrypt(b []byte) {
	for i, p := range b {
		t := k[2] | 2
		b[i] = p ^ byte((t*(t^1))>>8)
		k.update(p)
	}
}

// make7zEncrypted is make7z with header and content encrypted under
// SharingPassword. 7-Zip draws the AES IV at random, so this build's bytes
// (unlike the rest of the corpus) differ from run to run; its content and
// tree do not.
func make7zEncrypted(ctx context.Context, in, out string, names []string) error {
	args := append([]string{"a", "-t7z", "-bd", "-y", "-mx=5", "-mmt=1", "-mtc=off", "-mta=off", "-mtm=on", "-mhe=on", "-p" + SharingPassword, out}, names...)
	if _, err := run(ctx, in, nil, "7z", args...); err != nil {
		return fmt.Errorf("wrap 7z-encrypted: %w", err)
	}
	return nil
}
