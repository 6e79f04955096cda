package zip

// Compression methods past the standard library's Store and Deflate.
//
// bzip2, LZMA, zstd and xz are decoded here, in process, by the same bounded
// decoders the single-stream extractor uses. The methods no Go package
// decodes (Deflate64, which Windows' own "compressed folder" writes for large
// files, PPMd, Implode, Shrink, and whatever else an archive names) go to
// 7-Zip: their compressed bytes are copied into a throwaway ZIP under the
// scratch root, under names of our own, and one 7zz run extracts them all
// (the engine's tool runner: a per-file cap, the container's disk cap, the
// tool timeout). Every entry's bytes are then held to the central
// directory's size and CRC-32, whoever decoded them. A valid archive is
// never called corrupt because its method was not the standard library's;
// a method nobody here decodes is an "unsupported" issue naming it.

import (
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/compress"
)

const (
	methodBzip2 = 12
	methodLZMA  = 14
	methodZstd  = 93
	methodXZ    = 95
)

// methodName names a compression method for messages (APPNOTE 4.4.5).
func methodName(m uint16) string {
	switch m {
	case zip.Store:
		return "stored"
	case 1:
		return "Shrink"
	case 2, 3, 4, 5:
		return "Reduce"
	case 6:
		return "Implode"
	case zip.Deflate:
		return "Deflate"
	case 9:
		return "Deflate64"
	case 10:
		return "PKWARE DCL Implode"
	case methodBzip2:
		return "bzip2"
	case methodLZMA:
		return "LZMA"
	case 18:
		return "IBM TERSE"
	case 19:
		return "IBM LZ77"
	case 20, methodZstd:
		return "zstd"
	case 94:
		return "MP3"
	case methodXZ:
		return "xz"
	case 96:
		return "JPEG"
	case 97:
		return "WavPack"
	case 98:
		return "PPMd"
	case methodAES:
		return "WinZip AES"
	}
	return "unknown"
}

// decodedHere tells whether the method is decoded in process.
func decodedHere(m uint16) bool {
	switch m {
	case zip.Store, zip.Deflate, methodBzip2, methodLZMA, methodZstd, methodXZ:
		return true
	}
	return false
}

// compressed is one entry's compressed bytes and what decoding them needs.
type compressed struct {
	method uint16
	size   uint64            // the declared uncompressed size
	r      io.Reader         // the compressed bytes (decrypted, for an encrypted entry)
	at     *io.SectionReader // the same bytes at random; nil under encryption
	maxOut int64             // the entry limit, which bounds the decoders' own allocations
	sealed bool              // decrypted by us: 7-Zip is not given it
}

// decode returns the decoded stream of c for the methods decoded in
// process, and an ErrUnsupported error for the others. The decoder is made
// on the first Read, so an entry the engine refuses by its declared size
// costs no decoder (LZMA and xz allocate their dictionary up front). Close
// releases it.
func decode(c compressed) (io.ReadCloser, error) {
	var open func() (io.Reader, func(), error)
	switch c.method {
	case zip.Store:
		return io.NopCloser(c.r), nil
	case zip.Deflate:
		return flate.NewReader(c.r), nil
	case methodBzip2:
		return io.NopCloser(bzip2.NewReader(c.r)), nil
	case methodLZMA:
		open = func() (io.Reader, func(), error) {
			r, err := lzmaStream(c.r, c.size)
			return r, nil, err
		}
	case methodZstd:
		open = func() (io.Reader, func(), error) {
			d, err := compress.NewZstd(c.r, c.maxOut)
			if err != nil {
				return nil, nil, fmt.Errorf("zstd: %w", err)
			}
			return d, d.Close, nil
		}
	case methodXZ:
		if c.at == nil {
			// Without the whole stream at hand its index cannot lower the
			// dictionary the decoder would allocate as declared.
			return nil, fmt.Errorf("compression method %d (xz) under encryption: %w", c.method, unpack.ErrUnsupported)
		}
		open = func() (io.Reader, func(), error) {
			r, err := xz.NewReader(compress.FitDict(c.at, c.at.Size()))
			if err != nil {
				return nil, nil, fmt.Errorf("xz: %w", err)
			}
			return r, nil, nil
		}
	default:
		if c.sealed {
			return nil, fmt.Errorf("compression method %d (%s) under encryption: decoded by 7-Zip here, and only in unencrypted entries: %w", c.method, methodName(c.method), unpack.ErrUnsupported)
		}
		return nil, fmt.Errorf("compression method %d (%s): %w", c.method, methodName(c.method), unpack.ErrUnsupported)
	}
	return &lazyReader{open: open}, nil
}

// lazyReader makes its reader on the first Read.
type lazyReader struct {
	open  func() (io.Reader, func(), error)
	r     io.Reader
	close func()
	err   error
}

func (l *lazyReader) Read(p []byte) (int, error) {
	if l.r == nil && l.err == nil {
		l.r, l.close, l.err = l.open()
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.r.Read(p)
}

func (l *lazyReader) Close() error {
	if l.close != nil {
		l.close()
	}
	return nil
}

// lzmaStream reads ZIP's LZMA framing (APPNOTE 5.8.8: two version bytes,
// a two-byte properties size that must be 5, the five properties bytes)
// and returns the decoder over the stream that follows, given the classic
// header the decoder expects with the declared size (which holds whether
// or not the stream also ends with a marker) and the dictionary lowered to
// that size: a stream never refers back further than it has decoded, and
// the decoder allocates the whole dictionary before it reads a byte.
func lzmaStream(r io.Reader, size uint64) (io.Reader, error) {
	var h [9]byte
	if _, err := io.ReadFull(r, h[:4]); err != nil {
		return nil, fmt.Errorf("LZMA header: %w", err)
	}
	if n := binary.LittleEndian.Uint16(h[2:4]); n != 5 {
		return nil, fmt.Errorf("LZMA properties of %d bytes (5 expected)", n)
	}
	if _, err := io.ReadFull(r, h[4:9]); err != nil {
		return nil, fmt.Errorf("LZMA properties: %w", err)
	}
	dict := uint64(binary.LittleEndian.Uint32(h[5:9]))
	dict = max(min(dict, size), lzma.MinDictCap)
	var classic [lzma.HeaderLen]byte
	classic[0] = h[4]
	binary.LittleEndian.PutUint32(classic[1:5], uint32(dict))
	binary.LittleEndian.PutUint64(classic[5:13], size)
	return lzma.NewReader(io.MultiReader(bytes.NewReader(classic[:]), r))
}

// viaTool is the entries 7-Zip decoded for us: our name for each in the
// throwaway archive, and the folder it extracted them into.
type viaTool struct {
	out     *unpack.OutDir
	names   map[*zip.File]string
	copyErr map[*zip.File]error // entries whose bytes could not be copied out
	tooBig  map[*zip.File]bool  // over the entry limit: never decoded
	err     error               // why none could be decoded (7-Zip missing, the run failed)
	tool    string              // what the run said, for entries it did not write
	said    map[string]string   // 7-Zip's error line for each of our names it named
	drop    []func()
}

func (v *viaTool) remove() {
	for _, d := range v.drop {
		d()
	}
}

// decodeWithTool extracts the entries of files whose method is not decoded
// here with one 7zz run; with none such, it runs nothing and records only
// the entries over the entry limit.
func decodeWithTool(ctx context.Context, in unpack.Input, sink unpack.Sink, files []*zip.File) *viaTool {
	v := &viaTool{names: map[*zip.File]string{}, copyErr: map[*zip.File]error{}, tooBig: map[*zip.File]bool{}}
	var todo []*zip.File
	var copied uint64
	for _, f := range files {
		if f.FileInfo().IsDir() || f.Flags&flagEncrypted != 0 || decodedHere(f.Method) {
			continue
		}
		if f.UncompressedSize64 > uint64(max(in.Limits.MaxEntryBytes, 0)) {
			v.tooBig[f] = true // the engine refuses it by its declared size
			continue
		}
		// Entries that share their bytes (an overlapping bomb) would make
		// the copy many times the archive: what is copied stays within it.
		if f.CompressedSize64 > uint64(in.Blob.Size())-copied {
			v.copyErr[f] = fmt.Errorf("the compressed sizes of the entries for 7-Zip add up past the archive's %d bytes (entries overlap): not copied", in.Blob.Size())
			continue
		}
		copied += f.CompressedSize64
		todo = append(todo, f)
	}
	if len(todo) == 0 {
		return v
	}
	if in.Tools.SevenZip == "" {
		v.err = &unpack.ToolMissingError{Tool: "7z"}
		return v
	}
	src, err := unpack.NewOutDir(in, "zip-methods-in")
	if err != nil {
		v.err = err
		return v
	}
	v.drop = append(v.drop, func() { src.Remove() })
	arc, err := writeRawArchive(ctx, src, todo, v.names, v.copyErr)
	if err != nil {
		v.err = fmt.Errorf("copy the entries for 7-Zip: %w", err)
		return v
	}
	out, err := unpack.NewOutDir(in, "zip-methods-out")
	if err != nil {
		v.err = err
		return v
	}
	v.out = out
	v.drop = append(v.drop, func() { out.Remove() })
	// -pX: never wait for a password on the (closed) stdin; no entry of
	// the throwaway archive is encrypted.
	res, err := unpack.RunExtractTool(ctx, in, out, sink, out.Abs, "7z", in.Tools.SevenZip,
		"x", "-tzip", "-y", "-bd", "-bb0", "-pX", "-o"+out.Abs, "--", arc)
	if err != nil {
		v.err = fmt.Errorf("7-Zip: %w", err)
		return v
	}
	if res.ExitCode != 0 {
		v.tool = unpack.SevenZipFailure(res)
		_, v.said = unpack.SevenZipSays(res.Stderr)
	}
	return v
}

// writeRawArchive copies the compressed bytes of files, as they are, into a
// new ZIP in dir, naming each after its position (names holds which), and
// returns the archive's path. The maps are filled before it returns. The copies keep the method, its flag bits
// (1 and 2: LZMA's end marker, Implode's dictionary and trees), the sizes
// and the CRC-32; nothing is re-encoded.
func writeRawArchive(ctx context.Context, dir *unpack.OutDir, files []*zip.File, names map[*zip.File]string, copyErr map[*zip.File]error) (string, error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		zw := zip.NewWriter(pw)
		for i, f := range files {
			raw, err := f.OpenRaw()
			if err != nil {
				copyErr[f] = err
				continue
			}
			name := fmt.Sprintf("%08d", i)
			w, err := zw.CreateRaw(&zip.FileHeader{
				Name:               name,
				Method:             f.Method,
				Flags:              f.Flags & 0x6,
				CRC32:              f.CRC32,
				CompressedSize64:   f.CompressedSize64,
				UncompressedSize64: f.UncompressedSize64,
			})
			if err == nil {
				_, err = io.Copy(w, unpack.ContextReader(ctx, raw, "zip"))
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			names[f] = name
		}
		pw.CloseWithError(zw.Close())
	}()
	p, err := dir.Write("entries.zip", pr)
	pr.CloseWithError(errors.New("stopped")) // unblocks the writer if Write gave up
	<-done
	return p, err
}

// open returns the entry's bytes as 7-Zip decoded them, held to the
// declared size and CRC-32, or why there are none.
func (v *viaTool) open(f *zip.File) (io.ReadCloser, error) {
	what := fmt.Sprintf("compression method %d (%s)", f.Method, methodName(f.Method))
	switch {
	case v.tooBig[f]:
		return io.NopCloser(strings.NewReader("")), nil // the engine refuses it unread
	case v.err != nil:
		return nil, fmt.Errorf("%s is decoded by 7-Zip: %w", what, v.err)
	case v.copyErr[f] != nil:
		return nil, fmt.Errorf("%s: %w", what, v.copyErr[f])
	}
	name, ok := v.names[f]
	if !ok {
		return nil, fmt.Errorf("%s: not handed to 7-Zip", what)
	}
	if msg := v.said[name]; strings.HasPrefix(msg, "Unsupported Method") {
		// 7-Zip leaves an empty file behind: not the entry's bytes.
		return nil, fmt.Errorf("%s: 7-Zip: %s: %w", what, msg, unpack.ErrUnsupported)
	}
	file, _, err := v.out.Open(name)
	if err != nil {
		msg := v.tool
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s: 7-Zip did not decode it (%s): %w", what, msg, unpack.ErrUnsupported)
	}
	d := unpack.Declared{Size: f.UncompressedSize64, HasSize: true, CRC32: f.CRC32, HasCRC: true}
	return struct {
		io.Reader
		io.Closer
	}{unpack.CheckedReader(file, d, "as 7-Zip decoded it"), file}, nil
}
