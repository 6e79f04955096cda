package pe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	peparser "github.com/saferwall/pe"
)

// maxResources caps the leaves listed per PE: a hostile tree can claim
// thousands of entries per directory (saferwall caps one directory at 4096).
const maxResources = 20000

// Resource is one leaf of the resource tree. Offset and Size locate its data
// in the PE's bytes, so analysers can slice it out: data[Offset:Offset+Size].
type Resource struct {
	Type     string `json:"type"`    // "RCDATA", "VERSION", ... for standard ids, else the decimal id or the name
	TypeID   uint32 `json:"type_id"` // 0 when the type is named
	Name     string `json:"name"`    // the name, or the decimal id
	Lang     uint32 `json:"lang"`    // LANGID, e.g. 2052 for zh-CN
	CodePage uint32 `json:"code_page,omitempty"`
	Offset   int64  `json:"offset"` // file offset of the data
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256,omitempty"` // empty when the data is not wholly inside the file
	// OutsideFile is set when Offset/Size point past the end of the file;
	// Size is then the claimed size and the leaf cannot be sliced.
	OutsideFile bool `json:"outside_file,omitempty"`
}

// NodeName is the contract's child name for a leaf carved out of a PE:
// "[rsrc]/<TYPE>/<NAME>/<LANG>".
func (r Resource) NodeName() string {
	return fmt.Sprintf("[rsrc]/%s/%s/%d", r.Type, r.Name, r.Lang)
}

// Bytes returns the leaf's data within blob, or nil when it is not wholly inside.
func (r Resource) Bytes(blob []byte) []byte {
	if r.OutsideFile || r.Offset < 0 || r.Size < 0 || r.Offset+r.Size > int64(len(blob)) {
		return nil
	}
	return blob[r.Offset : r.Offset+r.Size]
}

// Standard resource type ids (winuser.h RT_*).
const (
	rtString   = 6
	rtDialog   = 5
	rtVersion  = 16
	rtManifest = 24
)

var resourceTypeNames = map[uint32]string{
	1: "CURSOR", 2: "BITMAP", 3: "ICON", 4: "MENU", 5: "DIALOG", 6: "STRING",
	7: "FONTDIR", 8: "FONT", 9: "ACCELERATOR", 10: "RCDATA", 11: "MESSAGETABLE",
	12: "GROUP_CURSOR", 14: "GROUP_ICON", 16: "VERSION", 17: "DLGINCLUDE",
	19: "PLUGPLAY", 20: "VXD", 21: "ANICURSOR", 22: "ANIICON", 23: "HTML", 24: "MANIFEST",
}

// ResourceTypeName is the symbolic name of a standard type id, else the decimal id.
func ResourceTypeName(id uint32) string {
	if n, ok := resourceTypeNames[id]; ok {
		return n
	}
	return strconv.FormatUint(uint64(id), 10)
}

func entryLabel(e *peparser.ResourceDirectoryEntry) string {
	if e.Name != "" {
		return e.Name
	}
	return strconv.FormatUint(uint64(e.ID), 10)
}

// listResources flattens saferwall's tree into leaves, in directory order
// (which resource compilers write sorted by id, names first). Leaves that
// sit at an unusual depth are still listed: a leaf directly under a type
// gets an empty name and language 0.
func listResources(ctx context.Context, f *peparser.File, blob []byte) (out []Resource, truncated bool) {
	var walk func(dir *peparser.ResourceDirectory, path []*peparser.ResourceDirectoryEntry)
	walk = func(dir *peparser.ResourceDirectory, path []*peparser.ResourceDirectoryEntry) {
		for i := range dir.Entries {
			if truncated || ctx.Err() != nil {
				truncated = true
				return
			}
			e := &dir.Entries[i]
			p := append(append([]*peparser.ResourceDirectoryEntry(nil), path...), e)
			if e.IsResourceDir {
				if len(p) < 8 { // real trees are 3 deep; saferwall already breaks loops
					walk(&e.Directory, p)
				}
				continue
			}
			if len(out) >= maxResources {
				truncated = true
				return
			}
			out = append(out, makeResource(f, blob, p))
		}
	}
	walk(&f.Resources, nil)
	return out, truncated
}

func makeResource(f *peparser.File, blob []byte, path []*peparser.ResourceDirectoryEntry) Resource {
	var r Resource
	t := path[0]
	if t.Name != "" {
		r.Type = t.Name
	} else {
		r.TypeID = t.ID
		r.Type = ResourceTypeName(t.ID)
	}
	if len(path) >= 2 {
		r.Name = entryLabel(path[1])
	}
	leaf := path[len(path)-1]
	if len(path) >= 3 && leaf.Name == "" {
		r.Lang = leaf.ID
	}
	d := leaf.Data.Struct
	r.CodePage = d.CodePage
	r.Size = int64(d.Size)
	off := f.GetOffsetFromRva(d.OffsetToData)
	r.Offset = int64(off)
	if off == ^uint32(0) || r.Offset+r.Size > int64(len(blob)) {
		r.OutsideFile = true
		return r
	}
	sum := sha256.Sum256(blob[r.Offset : r.Offset+r.Size])
	r.SHA256 = hex.EncodeToString(sum[:])
	return r
}
