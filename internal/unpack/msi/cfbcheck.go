package msi

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
)

// cfbProblem is a compound-file size that disagrees with the file: a
// stream whose declared size its sector chain cannot hold (malformed), or
// sectors in use that the file ends before (truncated).
type cfbProblem struct {
	truncated bool
	field     string
	msg       string
}

func (p cfbProblem) String() string { return p.field + ": " + p.msg }

const (
	cfbFreeSect   = 0xFFFFFFFF
	maxCFBProblem = 20 // problems listed per file: the rest are counted
)

// checkCompound compares every stream's declared size with the chain of
// sectors the FAT (or, for small streams, the mini FAT) gives it, and the
// sectors in use with the file's length. mscfb reads a stream through its
// chain whatever the size says, so a lie (an embedded cabinet stream
// claiming 4 GiB) would otherwise pass unseen, and so would a file cut a
// few bytes short at its end.
func checkCompound(r io.ReaderAt, size int64) []cfbProblem {
	var hdr [512]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil // mscfb has already refused it
	}
	le := binary.LittleEndian
	shift := le.Uint16(hdr[0x1E:])
	if shift != 9 && shift != 12 {
		return nil
	}
	ss := int64(1) << shift
	miniShift := le.Uint16(hdr[0x20:])
	cutoff := int64(le.Uint32(hdr[0x38:]))
	if miniShift == 0 || miniShift >= shift {
		return []cfbProblem{{field: "mini sector shift", msg: fmt.Sprintf("%d with sector shift %d", miniShift, shift)}}
	}
	ms := int64(1) << miniShift
	var probs []cfbProblem
	add := func(p cfbProblem) {
		probs = append(probs, p)
	}

	// The FAT: its sectors from the header and the DIFAT chain, each read
	// whole (a FAT sector the file ends in is truncation).
	perSector := uint32(ss / 4)
	var fatSectors []uint32
	for i := 0; i < 109; i++ {
		if s := le.Uint32(hdr[0x4C+4*i:]); s < cfbEndOfChain-5 {
			fatSectors = append(fatSectors, s)
		}
	}
	buf := make([]byte, ss)
	for n, difat := 0, le.Uint32(hdr[0x44:]); difat < cfbEndOfChain-5; n++ {
		if n > cfbMaxSectors/int(perSector) || (int64(difat)+2)<<shift > size {
			break // readDirectory and mscfb report DIFAT damage
		}
		if _, err := r.ReadAt(buf, (int64(difat)+1)<<shift); err != nil {
			break
		}
		for i := uint32(0); i < perSector-1; i++ {
			if s := le.Uint32(buf[4*i:]); s < cfbEndOfChain-5 {
				fatSectors = append(fatSectors, s)
			}
		}
		difat = le.Uint32(buf[4*(perSector-1):])
	}
	var fat []uint32
	for _, s := range fatSectors {
		if len(fat) > cfbMaxSectors {
			break
		}
		if (int64(s)+2)<<shift > size {
			add(cfbProblem{truncated: true, field: "FAT", msg: fmt.Sprintf("FAT sector %d lies past the end of the %d-byte file", s, size)})
			continue
		}
		if _, err := r.ReadAt(buf, (int64(s)+1)<<shift); err != nil {
			continue
		}
		for i := uint32(0); i < perSector; i++ {
			fat = append(fat, le.Uint32(buf[4*i:]))
		}
	}
	// chain follows a FAT-like table from start, counting entries, and
	// returns the last one; a loop or a link out of the table ends it.
	chain := func(table []uint32, start uint32) (n int64, last uint32, err error) {
		last = start
		for s := start; s != cfbEndOfChain; n++ {
			if int(s) >= len(table) {
				return n, last, fmt.Errorf("sector %d has no table entry", s)
			}
			if n > int64(len(table)) {
				return n, last, fmt.Errorf("sector chain loops")
			}
			last = s
			s = table[s]
		}
		return n, last, nil
	}

	// Every sector the FAT marks in use is whole in the file: readers read
	// sectors whole, so a file ending inside one was cut.
	for i := len(fat) - 1; i >= 0; i-- {
		if fat[i] == cfbFreeSect {
			continue
		}
		if end := (int64(i) + 2) << shift; end > size {
			add(cfbProblem{truncated: true, field: "file size", msg: fmt.Sprintf("sector %d is in use but the file ends at %d, inside or before it (%d bytes missing)", i, size, end-size)})
		}
		break
	}

	entries, err := readDirectory(r, size)
	if err != nil {
		return probs // mscfb or readDirectory report it
	}
	// The mini stream is the root entry's stream; the mini FAT a FAT chain.
	root := entries[0]
	miniStreamSize := root.streamSize(shift)
	var miniFAT []uint32
	if n := le.Uint32(hdr[0x40:]); n > 0 {
		for s, k := le.Uint32(hdr[0x3C:]), uint32(0); s != cfbEndOfChain && k < n && int(s) < len(fat); k++ {
			if (int64(s)+2)<<shift > size || len(miniFAT) > cfbMaxSectors {
				break
			}
			if _, err := r.ReadAt(buf, (int64(s)+1)<<shift); err != nil {
				break
			}
			for i := uint32(0); i < perSector; i++ {
				miniFAT = append(miniFAT, le.Uint32(buf[4*i:]))
			}
			s = fat[s]
		}
	}
	// Each sector belongs to one chain: a stream whose (lying) size points
	// its reader at a chain that crosses another's is malformed even when
	// the lengths happen to agree.
	owners := map[uint32]string{}
	mowners := map[uint32]string{}
	claim := func(table []uint32, start uint32, name string, own map[uint32]string) (uint32, string) {
		for s, k := start, 0; s != cfbEndOfChain && int(s) < len(table) && k <= len(table); k++ {
			if o, ok := own[s]; ok && o != name {
				return s, o
			}
			own[s] = name
			s = table[s]
		}
		return 0, ""
	}
	claim(fat, le.Uint32(hdr[0x30:]), "the directory", owners)
	claim(fat, le.Uint32(hdr[0x3C:]), "the mini FAT", owners)
	listed := 0
	for i, e := range entries {
		if e.typ != 2 && !(i == 0 && e.typ == 5) {
			continue // storages and unused entries have no stream
		}
		declared := e.streamSize(shift)
		name := "root entry (mini stream)"
		if i > 0 {
			name = "stream " + strconv.Quote(decodeStreamName(utf16Of(e.name)))
		}
		if declared == 0 {
			continue
		}
		if listed >= maxCFBProblem {
			break
		}
		if i > 0 && declared < cutoff {
			n, last, err := chain(miniFAT, e.start)
			need := (declared + ms - 1) / ms
			switch {
			case err != nil:
				add(cfbProblem{field: name + " size", msg: fmt.Sprintf("%d bytes declared, mini sector chain broken after %d sectors: %v", declared, n, err)})
				listed++
			case n != need:
				add(cfbProblem{field: name + " size", msg: fmt.Sprintf("%d bytes declared, its mini sector chain holds %d sectors (%d bytes)", declared, n, n*ms)})
				listed++
			case int64(last)*ms+declared-(n-1)*ms > miniStreamSize:
				add(cfbProblem{field: name + " size", msg: fmt.Sprintf("%d bytes declared, past the end of the %d-byte mini stream", declared, miniStreamSize)})
				listed++
			default:
				if sec, other := claim(miniFAT, e.start, name, mowners); other != "" {
					add(cfbProblem{field: name + " size", msg: fmt.Sprintf("%d bytes declared, but its mini sector chain runs into mini sector %d of %s", declared, sec, other)})
					listed++
				}
			}
			continue
		}
		n, last, err := chain(fat, e.start)
		need := (declared + ss - 1) / ss
		switch {
		case err != nil:
			add(cfbProblem{field: name + " size", msg: fmt.Sprintf("%d bytes declared, sector chain broken after %d sectors: %v", declared, n, err)})
			listed++
			continue
		case n != need:
			add(cfbProblem{field: name + " size", msg: fmt.Sprintf("%d bytes declared, its sector chain holds %d sectors (%d bytes)", declared, n, n*ss)})
			listed++
			continue
		}
		if sec, other := claim(fat, e.start, name, owners); other != "" {
			add(cfbProblem{field: name + " size", msg: fmt.Sprintf("%d bytes declared, but its sector chain runs into sector %d of %s", declared, sec, other)})
			listed++
			continue
		}
		// The chain is whole: the stream's last byte must be in the file.
		inLast := declared - (n-1)*ss
		if end := (int64(last)+1)<<shift + inLast; end > size {
			add(cfbProblem{truncated: true, field: name, msg: fmt.Sprintf("ends at byte %d of a %d-byte file (%d bytes missing)", end, size, end-size)})
			listed++
		}
	}
	return probs
}

// streamSize is the entry's declared size; version 3 files (512-byte
// sectors) use only the low 32 bits, as the specification says readers must.
func (e cfbEntry) streamSize(shift uint16) int64 {
	if shift == 9 {
		return int64(binary.LittleEndian.Uint32(e.size))
	}
	v := binary.LittleEndian.Uint64(e.size)
	if v > 1<<62 {
		return 1 << 62
	}
	return int64(v)
}

func utf16Of(b []byte) []uint16 {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return u
}
