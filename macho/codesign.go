package macho

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"unicode/utf8"

	"github.com/ayoubfaouzi/pkcs7"
)

// CodeSignature is the embedded signature (LC_CODE_SIGNATURE): a SuperBlob
// of CodeDirectories, requirements, entitlements and a CMS signature.
type CodeSignature struct {
	Offset       uint32          `json:"offset"` // in the slice
	Size         uint32          `json:"size"`
	Identifier   string          `json:"identifier,omitempty"`
	TeamID       string          `json:"team_id,omitempty"`
	Directories  []CodeDirectory `json:"code_directories,omitempty"`
	Entitlements string          `json:"entitlements,omitempty"` // the XML plist, bytes as found
	// EntitlementsDER is true when only the DER form (iOS 15+) was present.
	EntitlementsDER bool `json:"entitlements_der,omitempty"`
	// AdHoc: no CMS signer at all (the linker's own signature, or codesign -s -).
	AdHoc bool `json:"ad_hoc"`
	// Signers are the subjects of the certificates in the CMS blob, as stored.
	Signers []string `json:"signers,omitempty"`
}

// CodeDirectory is one CodeDirectory blob: the primary (SHA-1 on older
// signatures) and alternates (SHA-256).
type CodeDirectory struct {
	Version  string `json:"version"`
	Flags    uint32 `json:"flags"`
	HashType string `json:"hash_type"` // sha1, sha256, sha256-truncated, sha384
	// CDHash is the hash of the directory blob truncated to 20 bytes, as
	// codesign prints and the kernel compares it.
	CDHash    string `json:"cdhash"`
	CodeSlots uint32 `json:"code_slots"`
}

// Blob magics and slot types (Security framework, cscdefs.h).
const (
	csMagicEmbeddedSignature = 0xfade0cc0
	csMagicCodeDirectory     = 0xfade0c02
	csMagicEntitlements      = 0xfade7171
	csMagicEntitlementsDER   = 0xfade7172
	csMagicBlobWrapper       = 0xfade0b01
	maxIdentifier            = 1024
)

// parseSignature decodes a SuperBlob. It never fails as a whole: what is
// wrong comes back as messages and the rest is kept. All fields are big-endian.
func parseSignature(b []byte) (*CodeSignature, []string) {
	cs := &CodeSignature{AdHoc: true}
	var issues []string
	be := binary.BigEndian
	if len(b) < 12 || be.Uint32(b) != csMagicEmbeddedSignature {
		return cs, []string{"no embedded-signature SuperBlob"}
	}
	length := be.Uint32(b[4:])
	if uint64(length) > uint64(len(b)) {
		issues = append(issues, fmt.Sprintf("SuperBlob length %d exceeds the signature's %d bytes", length, len(b)))
		length = uint32(len(b))
	}
	b = b[:length]
	count := be.Uint32(b[8:])
	if count > maxBlobs {
		issues = append(issues, fmt.Sprintf("%d blobs declared, reading %d", count, maxBlobs))
		count = maxBlobs
	}
	for i := 0; i < int(count); i++ {
		p := 12 + 8*i
		if p+8 > len(b) {
			issues = append(issues, fmt.Sprintf("blob index %d lies past the SuperBlob", i))
			break
		}
		slot, off := be.Uint32(b[p:]), be.Uint32(b[p+4:])
		if uint64(off)+8 > uint64(len(b)) {
			issues = append(issues, fmt.Sprintf("blob %d (slot 0x%x) at %d lies past the SuperBlob", i, slot, off))
			continue
		}
		magic, blen := be.Uint32(b[off:]), be.Uint32(b[off+4:])
		if blen < 8 || uint64(off)+uint64(blen) > uint64(len(b)) {
			issues = append(issues, fmt.Sprintf("blob %d (magic 0x%x) length %d runs past the SuperBlob", i, magic, blen))
			continue
		}
		blob := b[off : off+blen]
		switch magic {
		case csMagicCodeDirectory:
			cd, id, team, err := parseCodeDirectory(blob)
			if err != nil {
				issues = append(issues, err.Error())
				continue
			}
			cs.Directories = append(cs.Directories, cd)
			if cs.Identifier == "" {
				cs.Identifier = id
			}
			if cs.TeamID == "" {
				cs.TeamID = team
			}
		case csMagicEntitlements:
			cs.Entitlements = string(blob[8:])
		case csMagicEntitlementsDER:
			if cs.Entitlements == "" {
				cs.EntitlementsDER = true
			}
		case csMagicBlobWrapper:
			der := blob[8:]
			if len(der) == 0 {
				continue // ad-hoc: an empty wrapper
			}
			p7, err := parsePKCS7(der)
			if err != nil {
				issues = append(issues, fmt.Sprintf("CMS signature: %v", err))
				continue
			}
			cs.AdHoc = false
			for _, c := range p7.Certificates {
				cs.Signers = append(cs.Signers, c.Subject.String())
			}
		}
	}
	if cs.Entitlements != "" {
		cs.EntitlementsDER = false
	}
	return cs, issues
}

func parsePKCS7(der []byte) (p7 *pkcs7.PKCS7, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pkcs7 panicked: %v", r)
		}
	}()
	return pkcs7.Parse(der)
}

// parseCodeDirectory reads the fields every version has, and the team id
// from version 0x20200 on.
func parseCodeDirectory(b []byte) (CodeDirectory, string, string, error) {
	be := binary.BigEndian
	var cd CodeDirectory
	if len(b) < 44 {
		return cd, "", "", fmt.Errorf("CodeDirectory too short (%d bytes)", len(b))
	}
	version := be.Uint32(b[8:])
	cd.Version = fmt.Sprintf("0x%x", version)
	cd.Flags = be.Uint32(b[12:])
	identOff := be.Uint32(b[20:])
	cd.CodeSlots = be.Uint32(b[28:])
	hashType := b[37]
	var h hash.Hash
	switch hashType {
	case 1:
		cd.HashType, h = "sha1", sha1.New()
	case 2:
		cd.HashType, h = "sha256", sha256.New()
	case 3:
		cd.HashType, h = "sha256-truncated", sha256.New()
	case 4:
		cd.HashType, h = "sha384", sha512.New384()
	default:
		cd.HashType = fmt.Sprintf("%d", hashType)
	}
	if h != nil {
		h.Write(b)
		cd.CDHash = hex.EncodeToString(h.Sum(nil)[:20])
	}
	id := cstring(b, identOff)
	team := ""
	if version >= 0x20200 && len(b) >= 52 {
		team = cstring(b, be.Uint32(b[48:]))
	}
	return cd, id, team, nil
}

// cstring reads a NUL-terminated UTF-8 string at off within b, or "".
func cstring(b []byte, off uint32) string {
	if off == 0 || uint64(off) >= uint64(len(b)) {
		return ""
	}
	s := b[off:]
	end := len(s)
	if end > maxIdentifier {
		end = maxIdentifier
	}
	for i := 0; i < end; i++ {
		if s[i] == 0 {
			end = i
			break
		}
	}
	if !utf8.Valid(s[:end]) {
		return fmt.Sprintf("%q", s[:end])
	}
	return string(s[:end])
}
