package msi

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"sort"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/cab/authenticode"
	"github.com/tomscan/tomscan/pe"
)

const (
	sigStream   = "[5]DigitalSignature"
	sigExStream = "[5]MsiDigitalSignatureEx"
)

// signature parses the \x05DigitalSignature stream and, when it can, checks
// the digest: Authenticode for MSI hashes every stream of the root storage
// but the two signature streams, in the order of their raw UTF-16LE names
// (byte-wise, as osslsigncode and msitools do), then the root's CLSID.
func signature(db *database, r io.ReaderAt, size int64, sink unpack.Sink) *pe.Signature {
	if _, ok := db.streams[sigStream]; !ok {
		return nil
	}
	der, err := db.readStream(sigStream, authenticode.MaxBlob)
	if err != nil {
		sink.Issue(artifact.KindParse, err.Error())
		return &pe.Signature{Error: err.Error()}
	}
	p, err := authenticode.Parse(der)
	if err != nil {
		return p.Sig
	}
	switch {
	case db.substorages:
		p.Note("digest not computed: the MSI has sub-storages")
	case !p.KnownHash():
	default:
		sum, err := digest(db, r, size, p.Hash.New, p.Note)
		if err != nil {
			p.Note("digest not computed: " + err.Error())
			break
		}
		p.SetComputed(sum)
	}
	return p.Sig
}

// digest computes the MSI Authenticode digest: when the file has an
// MsiDigitalSignatureEx stream, the hash of the streams' metadata (names,
// sizes, state bits, times) comes first; then every stream's content in
// sorted order; then the root's CLSID.
func digest(db *database, r io.ReaderAt, size int64, newHash func() hash.Hash, note func(string)) ([]byte, error) {
	type entry struct {
		key  []byte
		name string
	}
	var entries []entry
	for name, raw := range db.raw {
		if name == sigStream || name == sigExStream {
			continue
		}
		key := make([]byte, 0, 2*len(raw)+2)
		for _, c := range raw {
			key = binary.LittleEndian.AppendUint16(key, c)
		}
		entries = append(entries, entry{append(key, 0, 0), name})
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i].key, entries[j].key
		n := min(len(a), len(b))
		if c := bytes.Compare(a[:n], b[:n]); c != 0 {
			return c < 0
		}
		return len(a) < len(b)
	})
	h := newHash()
	if f := db.streams[sigExStream]; f != nil {
		dirents, err := readDirectory(r, size)
		if err != nil {
			return nil, fmt.Errorf("MsiDigitalSignatureEx: %w", err)
		}
		byName := map[string]*cfbEntry{}
		for i := range dirents {
			e := &dirents[i]
			if e.typ != 2 {
				continue
			}
			if _, dup := byName[string(e.name)]; dup {
				return nil, fmt.Errorf("MsiDigitalSignatureEx: two streams named %x", e.name)
			}
			byName[string(e.name)] = e
		}
		pre := newHash()
		root := dirents[0]
		pre.Write(root.clsid)
		pre.Write(root.state)
		for _, e := range entries {
			d := byName[string(e.key[:len(e.key)-2])]
			if d == nil {
				return nil, fmt.Errorf("MsiDigitalSignatureEx: no directory entry for stream %q", e.name)
			}
			pre.Write(d.name)
			pre.Write(d.size[:4])
			pre.Write(d.state)
			pre.Write(d.ctime)
			pre.Write(d.mtime)
		}
		preSum := pre.Sum(nil)
		stored, err := db.readStream(sigExStream, 1024)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(stored, preSum) {
			note(fmt.Sprintf("MsiDigitalSignatureEx holds %x, the metadata hashes to %x", stored, preSum))
		}
		h.Write(preSum)
	}
	buf := make([]byte, 64<<10)
	for _, e := range entries {
		f := db.streams[e.name]
		if _, err := io.CopyBuffer(h, io.LimitReader(&fileReader{f: f}, f.Size), buf); err != nil {
			return nil, fmt.Errorf("hash stream %q: %w", e.name, err)
		}
	}
	clsid, err := rootCLSID(r)
	if err != nil {
		return nil, err
	}
	h.Write(clsid)
	return h.Sum(nil), nil
}

// rootCLSID reads the root directory entry's CLSID straight from the
// compound file header: mscfb only offers it as formatted text.
func rootCLSID(r io.ReaderAt) ([]byte, error) {
	var hdr [512]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("read OLE header: %w", err)
	}
	shift := binary.LittleEndian.Uint16(hdr[0x1E:])
	if shift != 9 && shift != 12 {
		return nil, fmt.Errorf("OLE sector shift %d", shift)
	}
	dir := int64(binary.LittleEndian.Uint32(hdr[0x30:]))
	var entry [128]byte
	if _, err := r.ReadAt(entry[:], (dir+1)<<shift); err != nil {
		return nil, fmt.Errorf("read root directory entry: %w", err)
	}
	return append([]byte(nil), entry[80:96]...), nil
}
