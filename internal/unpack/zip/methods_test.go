package zip

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"hash/crc32"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// rawZipOf builds a ZIP whose entries hold data compressed by an external
// program (zstd, xz: encoders independent of our decoders) under method.
func rawZipOf(t *testing.T, method uint16, files map[string][]byte, compress ...string) []byte {
	t.Helper()
	unpacktest.Tool(t, compress[0])
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range slices.Sorted(maps.Keys(files)) {
		cmd := exec.Command(compress[0], compress[1:]...)
		cmd.Stdin = bytes.NewReader(files[n])
		packed, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v", compress, err)
		}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: n, Method: method, CRC32: crc32.ChecksumIEEE(files[n]),
			CompressedSize64: uint64(len(packed)), UncompressedSize64: uint64(len(files[n]))})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(packed)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestMethods: ZIPs made by 7-Zip with every method it writes, and by zstd
// and xz under methods 93 and 95 (WinZip's), open to the files put in,
// with no issue; the methods only 7-Zip decodes say so on each entry.
func TestMethods(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	files := cryptFiles()
	for _, tc := range []struct {
		name string
		data func(t *testing.T) []byte
		by7z bool
	}{
		{"Deflate64", func(t *testing.T) []byte { return sevenZipZip(t, files, "-mm=Deflate64") }, true},
		{"PPMd", func(t *testing.T) []byte { return sevenZipZip(t, files, "-mm=PPMd") }, true},
		{"BZip2", func(t *testing.T) []byte { return sevenZipZip(t, files, "-mm=BZip2") }, false},
		{"LZMA", func(t *testing.T) []byte { return sevenZipZip(t, files, "-mm=LZMA") }, false},
		{"LZMA with end marker", func(t *testing.T) []byte { return sevenZipZip(t, files, "-mm=LZMA:eos") }, false},
		{"zstd", func(t *testing.T) []byte { return rawZipOf(t, methodZstd, files, "zstd", "-q", "-19", "-c") }, false},
		{"xz", func(t *testing.T) []byte { return rawZipOf(t, methodXZ, files, "xz", "-9", "-c") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data(t)
			res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
			if res.Err != nil || len(res.Issues) > 0 {
				t.Fatalf("err %v issues %v", res.Err, res.Issues)
			}
			if got, want := res.Set(), unpacktest.SetOf(files); !slices.Equal(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			by7z := 0
			for _, f := range res.Files {
				// 7-Zip stores what does not compress (method 0) whatever -mm says.
				viaTool := f.Meta["method"] == "9" || f.Meta["method"] == "98"
				if f.Err != "" || (f.Meta["decoded_by"] == "7-Zip") != viaTool {
					t.Errorf("%s: err %q meta %v", f.Name, f.Err, f.Meta)
				}
				if viaTool {
					by7z++
				}
			}
			if (by7z > 0) != tc.by7z {
				t.Errorf("%d entries decoded by 7-Zip", by7z)
			}
		})
	}
}

func sevenZipZip(t *testing.T, files map[string][]byte, args ...string) []byte {
	t.Helper()
	return unpacktest.Build(t, files, "out.zip", "7zz", append(append([]string{"a", "-tzip", "-bd"}, args...), append([]string{"out.zip"}, cryptNames...)...)...)
}

// TestMethodsInEngine: an archive of Deflate64 entries is read, not
// reported failed as corrupt (what the standard library's "unsupported
// compression algorithm" made of it).
func TestMethodsInEngine(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data := sevenZipZip(t, cryptFiles(), "-mm=Deflate64")
	root := unpacktest.RunEngine(t.Context(), t, []unpack.Extractor{Extractor{}}, "x.zip", data, limits.Default())
	if len(root.Children) != 4 || len(unpacktest.Issues(root)) != 0 {
		t.Fatalf("children %d issues %v", len(root.Children), unpacktest.Issues(root))
	}
}

// TestMethodWithout7z: without 7-Zip a Deflate64 entry is a tool-missing
// issue naming the method, never an extract error, and nothing is emitted.
func TestMethodWithout7z(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data := unpacktest.Build(t, map[string][]byte{"a.txt": bytes.Repeat([]byte("abc"), 100)}, "out.zip", "7zz", "a", "-tzip", "-bd", "-mm=Deflate64", "out.zip", "a.txt")
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{Tools: &unpack.Tools{}})
	if len(res.Files) != 0 || len(res.Issues) != 1 || !strings.HasPrefix(res.Issues[0], artifact.KindToolMissing+": ") ||
		!strings.Contains(res.Issues[0], "compression method 9 (Deflate64)") {
		t.Fatalf("files %v issues %v", res.Names(), res.Issues)
	}
}

// TestMethodNobodyDecodes: a method neither we nor 7-Zip decode (97,
// WavPack) is an unsupported issue naming it and what 7-Zip said; the
// archive's other entries are still read.
func TestMethodNobodyDecodes(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateRaw(&zip.FileHeader{Name: "song.wv", Method: 97, CRC32: 1, CompressedSize64: 4, UncompressedSize64: 8})
	w.Write([]byte("wvpk"))
	w, _ = zw.Create("readme.txt")
	w.Write([]byte("hello"))
	zw.Close()
	res := unpacktest.Run(t, Extractor{}, buf.Bytes(), unpacktest.Options{})
	if got := res.Names(); !slices.Equal(got, []string{"readme.txt"}) {
		t.Errorf("files %v", got)
	}
	if len(res.Issues) != 1 || !strings.HasPrefix(res.Issues[0], artifact.KindUnsupported+": ") ||
		!strings.Contains(res.Issues[0], `"song.wv": compression method 97 (WavPack): 7-Zip: Unsupported Method: unsupported variant`) {
		t.Errorf("issues %v", res.Issues)
	}
}

// TestMethodTampered: a flipped byte in a Deflate64 or LZMA entry never
// yields a child without an error.
func TestMethodTampered(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	one := map[string][]byte{"a.bin": bytes.Repeat([]byte("abcdefgh-TOM-Skype "), 4000)}
	for _, m := range []string{"Deflate64", "LZMA", "BZip2"} {
		data := unpacktest.Build(t, one, "out.zip", "7zz", "a", "-tzip", "-bd", "-mm="+m, "out.zip", "a.bin")
		data = bytes.Clone(data)
		data[30+len("a.bin")+60] ^= 0x55 // inside the local entry's data
		res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
		for _, f := range res.Files {
			if f.Err == "" {
				t.Errorf("%s: tampered entry emitted without error: %+v", m, f)
			}
		}
		if len(res.Files) == 0 && len(res.Issues) == 0 {
			t.Errorf("%s: tampered archive: no file and no issue", m)
		}
	}
}

// TestLZMAHugeDictionary: an LZMA entry whose properties declare a 4 GiB
// dictionary decodes with one as large as the entry (the decoder would
// otherwise refuse it, or allocate it before reading a byte).
func TestLZMAHugeDictionary(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	one := map[string][]byte{"a.bin": bytes.Repeat([]byte("abcdefgh"), 5000)}
	data := bytes.Clone(unpacktest.Build(t, one, "out.zip", "7zz", "a", "-tzip", "-bd", "-mm=LZMA", "out.zip", "a.bin"))
	props := 30 + len("a.bin") + int(binary.LittleEndian.Uint16(data[28:])) + 4 // version, size, then lc/lp/pb
	binary.LittleEndian.PutUint32(data[props+1:], 0xFFFFFFFF)
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	if len(res.Issues) > 0 || !slices.Equal(res.Set(), unpacktest.SetOf(one)) {
		t.Fatalf("issues %v files %v", res.Issues, res.Set())
	}
}

// TestEncryptedMethods: under WinZip AES and ZipCrypto, LZMA and bzip2
// decode after decryption; Deflate64 and PPMd (7-Zip's only) are an
// unsupported issue that says why, not an extract error.
func TestEncryptedMethods(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	files := cryptFiles()
	for _, tc := range []struct {
		mem, mm string
		ok      bool
	}{
		{"AES256", "LZMA", true},
		{"ZipCrypto", "BZip2", true},
		{"ZipCrypto", "Deflate64", false},
		{"AES256", "PPMd", false},
	} {
		t.Run(tc.mem+" "+tc.mm, func(t *testing.T) {
			data := sevenZipZip(t, files, "-pinfected", "-mem="+tc.mem, "-mm="+tc.mm)
			res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
			if tc.ok {
				if len(res.Issues) > 0 || !slices.Equal(res.Set(), unpacktest.SetOf(files)) {
					t.Fatalf("issues %v files %v", res.Issues, res.Set())
				}
				return
			}
			// The incompressible and the one-byte file are stored, and open.
			if !slices.Equal(res.Names(), []string{"ContentFilter.x", "tiny.txt"}) || len(res.Issues) != 2 {
				t.Fatalf("files %v issues %v", res.Names(), res.Issues)
			}
			for _, is := range res.Issues {
				if !strings.HasPrefix(is, artifact.KindUnsupported+": ") || !strings.Contains(is, "under encryption: decoded by 7-Zip here, and only in unencrypted entries") {
					t.Errorf("issue %q", is)
				}
			}
		})
	}
}

// TestOverlappingEntriesForTool: fifty central-directory records naming one
// Deflate64 entry (an overlapping bomb's shape) are not copied fifty times
// for 7-Zip: the copies stay within the archive's size, and the records
// past it are issues.
func TestOverlappingEntriesForTool(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	body := bytes.Repeat([]byte("TOM-Skype keyfile "), 400)
	one := unpacktest.Build(t, map[string][]byte{"a.bin": body}, "out.zip", "7zz", "a", "-tzip", "-bd", "-mm=Deflate64", "out.zip", "a.bin")
	cd := bytes.Index(one, []byte("PK\x01\x02"))
	end := bytes.Index(one, []byte("PK\x05\x06"))
	if cd < 0 || end < cd {
		t.Fatalf("layout: central directory at %d, end at %d", cd, end)
	}
	record := one[cd:end]
	const copies = 50
	data := bytes.Clone(one[:cd])
	for range copies {
		data = append(data, record...)
	}
	tail := bytes.Clone(one[end:])
	binary.LittleEndian.PutUint16(tail[8:], copies)
	binary.LittleEndian.PutUint16(tail[10:], copies)
	binary.LittleEndian.PutUint32(tail[12:], uint32(copies*len(record)))
	binary.LittleEndian.PutUint32(tail[16:], uint32(cd))
	data = append(data, tail...)

	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	packed := int(binary.LittleEndian.Uint32(record[20:]))
	if max := len(data) / packed; len(res.Files) == 0 || len(res.Files) > max {
		t.Fatalf("%d children (at most %d copies fit in the archive)", len(res.Files), max)
	}
	for _, f := range res.Files {
		if f.Err != "" || f.Size != int64(len(body)) {
			t.Errorf("%s: err %q size %d", f.Name, f.Err, f.Size)
		}
	}
	overlap := 0
	for _, is := range res.Issues {
		if strings.Contains(is, "(entries overlap): not copied") {
			overlap++
		}
	}
	if overlap+len(res.Files) != copies {
		t.Errorf("%d children and %d overlap issues for %d records: %v", len(res.Files), overlap, copies, res.Issues)
	}
}

// TestRecoverTruncated: a ZIP cut inside its second entry has no central
// directory; the first entry is read whole from its local header by 7-Zip,
// the second as far as it goes, with 7-Zip's CRC verdict as its read error,
// and the archive says how its entries were read.
func TestRecoverTruncated(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	first := bytes.Repeat([]byte("first entry, whole "), 3000)
	second := make([]byte, 60000)
	rand.Read(second) // incompressible: stored in effect, so the cut lands inside it
	data := unpacktest.ZipOf(t, [2]string{"app/first.txt", string(first)}, [2]string{"app/second.bin", string(second)})
	cut := bytes.Index(data, []byte("app/second.bin")) + 20000
	res := unpacktest.Run(t, Extractor{}, data[:cut], unpacktest.Options{})
	if res.Err != nil || len(res.Files) != 2 {
		t.Fatalf("err %v files %v issues %v", res.Err, res.Set(), res.Issues)
	}
	if f := res.Files[0]; f.Name != "app/first.txt" || f.Err != "" || f.String() != "app/first.txt 57000 "+unpacktest.Digest(first) || f.Meta["decoded_by"] != "7-Zip" {
		t.Errorf("first: %s err %q meta %v", f, f.Err, f.Meta)
	}
	if f := res.Files[1]; f.Name != "app/second.bin" || !strings.Contains(f.Err, "7-Zip: ") || f.Size >= int64(len(second)) {
		t.Errorf("second: %s err %q", f, f.Err)
	}
	if len(res.Issues) != 1 || !strings.HasPrefix(res.Issues[0], artifact.KindMalformed+": zip: the central directory is unreadable (zip: not a valid zip file): 2 entries read from their local headers by 7-Zip") ||
		!strings.Contains(res.Issues[0], "Unexpected end of archive") {
		t.Errorf("issues %v", res.Issues)
	}

	// Without 7-Zip, the reader's refusal as before.
	res = unpacktest.Run(t, Extractor{}, data[:cut], unpacktest.Options{Tools: &unpack.Tools{}})
	if res.Err == nil || res.Err.Error() != "zip: open: zip: not a valid zip file" || len(res.Files) != 0 {
		t.Errorf("without 7-Zip: err %v files %v", res.Err, res.Names())
	}
}

// TestRecoverNothing: a local-header magic over garbage stays an error,
// saying 7-Zip found nothing either.
func TestRecoverNothing(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0xEE}, 500)...)
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "7-Zip found no entry either") || len(res.Files) != 0 {
		t.Errorf("err %v files %v issues %v", res.Err, res.Names(), res.Issues)
	}
}
