package pe

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
)

// maxExports caps the functions listed: NumberOfFunctions is read from the file.
const maxExports = 65536

// maxNameLen caps a NUL-terminated name read from the file.
const maxNameLen = 512

// parseExports reads IMAGE_EXPORT_DIRECTORY ourselves: saferwall's parser
// prints to stdout when the name table is bad. Functions are listed in
// ordinal order; a forwarder is an RVA that points back into the directory.
func parseExports(ctx context.Context, blob []byte, dirRVA, dirSize uint32, rvaToOff func(uint32) (int64, bool)) (*Exports, error) {
	off, ok := rvaToOff(dirRVA)
	if !ok || off+40 > int64(len(blob)) {
		return nil, fmt.Errorf("exports: directory RVA %#x outside the file", dirRVA)
	}
	d := blob[off : off+40]
	le := binary.LittleEndian
	nameRVA := le.Uint32(d[12:])
	base := le.Uint32(d[16:])
	nFuncs := le.Uint32(d[20:])
	nNames := le.Uint32(d[24:])
	funcsRVA, namesRVA, ordsRVA := le.Uint32(d[28:]), le.Uint32(d[32:]), le.Uint32(d[36:])

	ex := &Exports{DLLName: cString(blob, nameRVA, rvaToOff), TimeDateStamp: le.Uint32(d[4:])}
	if nFuncs > maxExports {
		nFuncs, ex.Truncated = maxExports, true
	}
	if nNames > maxExports {
		nNames, ex.Truncated = maxExports, true
	}
	names := map[uint32]string{} // function index -> name
	for i := uint32(0); i < nNames; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return ex, ctx.Err()
		}
		np, ok1 := u32At(blob, namesRVA+4*i, rvaToOff)
		ord, ok2 := u16At(blob, ordsRVA+2*i, rvaToOff)
		if !ok1 || !ok2 {
			break
		}
		if _, dup := names[uint32(ord)]; !dup {
			names[uint32(ord)] = cString(blob, np, rvaToOff)
		}
	}
	for i := uint32(0); i < nFuncs; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return ex, ctx.Err()
		}
		rva, ok := u32At(blob, funcsRVA+4*i, rvaToOff)
		if !ok {
			break
		}
		name, named := names[i]
		if rva == 0 && !named {
			continue // unused ordinal slot
		}
		e := Export{Ordinal: base + i, Name: name, RVA: rva}
		if rva >= dirRVA && rva < dirRVA+dirSize {
			e.Forwarder = cString(blob, rva, rvaToOff)
		}
		ex.Functions = append(ex.Functions, e)
	}
	sort.SliceStable(ex.Functions, func(i, j int) bool { return ex.Functions[i].Ordinal < ex.Functions[j].Ordinal })
	if ex.DLLName == "" && len(ex.Functions) == 0 {
		return nil, nil
	}
	return ex, nil
}

func u32At(blob []byte, rva uint32, rvaToOff func(uint32) (int64, bool)) (uint32, bool) {
	off, ok := rvaToOff(rva)
	if !ok || off+4 > int64(len(blob)) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(blob[off:]), true
}

func u16At(blob []byte, rva uint32, rvaToOff func(uint32) (int64, bool)) (uint16, bool) {
	off, ok := rvaToOff(rva)
	if !ok || off+2 > int64(len(blob)) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(blob[off:]), true
}

// cString reads a NUL-terminated ASCII name at rva, capped at maxNameLen.
func cString(blob []byte, rva uint32, rvaToOff func(uint32) (int64, bool)) string {
	if rva == 0 {
		return ""
	}
	off, ok := rvaToOff(rva)
	if !ok {
		return ""
	}
	end := off
	for end < int64(len(blob)) && end-off < maxNameLen && blob[end] != 0 {
		end++
	}
	return string(blob[off:end])
}
