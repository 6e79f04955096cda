package msi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// cfbEntry is one raw compound-file directory entry: the fields that the
// MsiDigitalSignatureEx pre-hash covers and mscfb does not expose as bytes.
type cfbEntry struct {
	name  []byte // UTF-16LE, without the terminator
	typ   byte   // 1 storage, 2 stream, 5 root
	clsid []byte
	state []byte
	ctime []byte
	mtime []byte
	size  []byte // 8 bytes, little-endian
	start uint32 // first sector of the stream (FAT or mini FAT)
}

const (
	cfbEndOfChain = 0xFFFFFFFE
	cfbMaxSectors = 1 << 22 // directory and DIFAT chains longer than this are refused
)

// readDirectory reads every directory entry of a compound file by following
// the directory's sector chain through the FAT. Chains are bounded and
// checked for loops: the file is hostile.
func readDirectory(r io.ReaderAt, size int64) ([]cfbEntry, error) {
	var hdr [512]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("read OLE header: %w", err)
	}
	le := binary.LittleEndian
	shift := le.Uint16(hdr[0x1E:])
	if shift != 9 && shift != 12 {
		return nil, fmt.Errorf("OLE sector shift %d", shift)
	}
	sectorSize := int64(1) << shift
	perSector := uint32(sectorSize / 4)
	offset := func(sector uint32) int64 { return (int64(sector) + 1) << shift }
	maxSector := uint32(size >> shift)

	// The FAT's own sectors: 109 in the header, then the DIFAT chain.
	var fat []uint32
	for i := 0; i < 109; i++ {
		fat = append(fat, le.Uint32(hdr[0x4C+4*i:]))
	}
	difat := le.Uint32(hdr[0x44:])
	buf := make([]byte, sectorSize)
	for n := 0; difat < maxSector && difat != cfbEndOfChain; n++ {
		if n > cfbMaxSectors/int(perSector) {
			return nil, errors.New("OLE DIFAT chain too long")
		}
		if _, err := r.ReadAt(buf, offset(difat)); err != nil {
			return nil, fmt.Errorf("read DIFAT sector %d: %w", difat, err)
		}
		for i := uint32(0); i < perSector-1; i++ {
			fat = append(fat, le.Uint32(buf[4*i:]))
		}
		difat = le.Uint32(buf[4*(perSector-1):])
	}
	next := func(sector uint32) (uint32, error) {
		idx := sector / perSector
		if int(idx) >= len(fat) || fat[idx] >= maxSector {
			return 0, fmt.Errorf("sector %d has no FAT entry", sector)
		}
		var b [4]byte
		if _, err := r.ReadAt(b[:], offset(fat[idx])+int64(sector%perSector)*4); err != nil {
			return 0, fmt.Errorf("read FAT: %w", err)
		}
		return le.Uint32(b[:]), nil
	}

	var entries []cfbEntry
	seen := map[uint32]bool{}
	for sector := le.Uint32(hdr[0x30:]); sector != cfbEndOfChain; {
		if sector >= maxSector || seen[sector] || len(seen) > cfbMaxSectors {
			return nil, fmt.Errorf("OLE directory chain broken at sector %d", sector)
		}
		seen[sector] = true
		b := make([]byte, sectorSize)
		if _, err := r.ReadAt(b, offset(sector)); err != nil {
			return nil, fmt.Errorf("read directory sector %d: %w", sector, err)
		}
		for e := int64(0); e+128 <= sectorSize; e += 128 {
			d := b[e : e+128]
			nameLen := int(le.Uint16(d[64:]))
			if nameLen > 64 || nameLen%2 != 0 {
				nameLen = 0
			}
			name := d[:max(nameLen-2, 0)]
			entries = append(entries, cfbEntry{name: name, typ: d[66], clsid: d[80:96], state: d[96:100], ctime: d[100:108], mtime: d[108:116], size: d[120:128], start: le.Uint32(d[116:])})
		}
		var err error
		if sector, err = next(sector); err != nil {
			return nil, err
		}
	}
	if len(entries) == 0 || entries[0].typ != 5 {
		return nil, errors.New("OLE directory has no root entry")
	}
	return entries, nil
}
