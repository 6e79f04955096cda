package filetype

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"
)

func TestSniffArchiveFormats(t *testing.T) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "a.exe", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	v7 := bytes.Clone(tb.Bytes()[:512])
	copy(v7[257:], make([]byte, 8)) // no ustar magic: the checksum must now be recomputed
	sum := 0
	for i, c := range v7 {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int(c)
	}
	copy(v7[148:], fmt.Sprintf("%06o\x00 ", sum))
	badTar := bytes.Clone(tb.Bytes())
	badTar[0] ^= 1

	iso := make([]byte, 34000)
	copy(iso[32769:], "CD001")
	udf := make([]byte, 40000)
	copy(udf[32769:], "BEA01")
	copy(udf[32769+2048:], "NSR02")
	copy(udf[32769+4096:], "TEA01")

	arj := []byte{0x60, 0xEA, 4, 0, 1, 2, 3, 4, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(arj[8:], crc32.ChecksumIEEE(arj[4:8]))
	arjBad := bytes.Clone(arj)
	arjBad[5] ^= 1

	cpioBin := make([]byte, 40)
	cpioBin[0], cpioBin[1] = 0xC7, 0x71
	binary.LittleEndian.PutUint16(cpioBin[20:], 4)
	copy(cpioBin[26:], "abc\x00")

	for _, c := range []struct {
		name string
		head []byte
		want string
	}{
		{"ustar", tb.Bytes(), Tar},
		{"v7 tar", append(v7, make([]byte, 1024)...), Tar},
		{"tar with a wrong checksum", badTar, Unknown},
		{"zstd", []byte{0x28, 0xB5, 0x2F, 0xFD, 0, 0}, Zstd},
		{"iso", iso, ISO9660},
		{"udf", udf, UDF},
		{"wim", []byte("MSWIM\x00\x00\x00\xd0\x00"), WIM},
		{"xar", []byte("xar!\x00\x1c\x00\x01"), Xar},
		{"deb", []byte("!<arch>\ndebian-binary   "), Deb},
		{"ar", []byte("!<arch>\nlibfoo.o/       "), Ar},
		{"rpm", []byte{0xED, 0xAB, 0xEE, 0xDB, 3, 0}, RPM},
		{"cpio newc", []byte("070701000000"), Cpio},
		{"cpio binary", cpioBin, Cpio},
		{"arj", arj, ARJ},
		{"arj with a wrong crc", arjBad, Unknown},
		{"lzh", []byte("\x25\x00-lh5-\x00\x00"), LZH},
		{"stuffit", []byte("SIT!\x00\x00"), StuffIt},
		{"szdd", []byte("SZDD\x88\xf0\x27\x33A\x00"), MSLZ},
		{"kwaj", []byte("KWAJ\x88\xf0\x27\xd1"), KWAJ},
		{"rar5", []byte("Rar!\x1a\x07\x01\x00"), RAR},
	} {
		if got := Sniff(c.head); got != c.want {
			t.Errorf("%s: Sniff = %q, want %q", c.name, got, c.want)
		}
		if c.want != Unknown && !IsContainer(c.want) {
			t.Errorf("%s: %q is not a container type", c.name, c.want)
		}
	}
	if IsContainer(PE) || IsContainer(Text) || Describe(RAR) != "RAR archive" {
		t.Error("IsContainer/Describe")
	}
}
