package machobuild

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ayoubfaouzi/pkcs7"
)

// SignOptions describe the embedded signature Sign writes.
type SignOptions struct {
	Identifier   string // the bundle id, as codesign writes it
	TeamID       string // "" for none
	Entitlements []byte // XML plist; nil for none
	// Cert and Key make a CMS signature over the CodeDirectory (detached,
	// without signed attributes, so the bytes are deterministic); nil: ad hoc.
	Cert  *x509.Certificate
	Chain []*x509.Certificate
	Key   crypto.PrivateKey
}

const pageShift = 12

// Sign replaces the embedded code signature of a 64-bit little-endian thin
// Mach-O whose signature is its last bytes (the Go linker's layout) with
// one written here: a SHA-256 CodeDirectory (version 0x20400, page hashes
// of everything before the signature, the entitlements and requirements
// special slots), an empty requirements set, the entitlements blob and a
// CMS blob. LC_CODE_SIGNATURE and __LINKEDIT are resized to match.
func Sign(b []byte, o SignOptions) ([]byte, error) {
	le := binary.LittleEndian
	if len(b) < 32 || le.Uint32(b) != 0xfeedfacf {
		return nil, errors.New("machobuild: sign: not a 64-bit little-endian Mach-O")
	}
	ncmds := le.Uint32(b[16:])
	var csCmd, linkedit int = -1, -1
	p := 32
	for i := 0; i < int(ncmds) && p+8 <= len(b); i++ {
		cmd, cs := le.Uint32(b[p:]), int(le.Uint32(b[p+4:]))
		if cs < 8 || p+cs > len(b) {
			return nil, errors.New("machobuild: sign: bad load command")
		}
		if cmd == 0x1d {
			csCmd = p
		}
		if cmd == 0x19 && string(b[p+8:p+8+10]) == "__LINKEDIT" {
			linkedit = p
		}
		p += cs
	}
	if csCmd < 0 || linkedit < 0 {
		return nil, errors.New("machobuild: sign: no LC_CODE_SIGNATURE or __LINKEDIT")
	}
	dataoff, datasize := le.Uint32(b[csCmd+8:]), le.Uint32(b[csCmd+12:])
	if int(dataoff)+int(datasize) != len(b) {
		return nil, errors.New("machobuild: sign: the signature is not at the end of the file")
	}
	// The signature size must be known before hashing the header that
	// records it, so build once to measure, patch the header, build again.
	out := append([]byte(nil), b[:dataoff]...)
	var sig []byte
	for round := 0; round < 2; round++ {
		size := uint32(0x4000)
		if sig != nil {
			size = uint32(len(sig))
		}
		le.PutUint32(out[csCmd+12:], size)
		lfo := le.Uint64(out[linkedit+40:])
		fsz := uint64(dataoff) + uint64(size) - lfo
		le.PutUint64(out[linkedit+48:], fsz)
		le.PutUint64(out[linkedit+32:], (fsz+0x3fff)&^0x3fff)
		var err error
		if sig, err = superBlob(out, o); err != nil {
			return nil, err
		}
		if round == 0 {
			// pad to a stable size so round 2 writes the same length
			sig = append(sig, make([]byte, (16-len(sig)%16)%16)...)
		}
	}
	want := le.Uint32(out[csCmd+12:])
	if uint32(len(sig)) < want {
		sig = append(sig, make([]byte, int(want)-len(sig))...)
	}
	if uint32(len(sig)) != want {
		return nil, fmt.Errorf("machobuild: sign: signature size changed (%d != %d)", len(sig), want)
	}
	return append(out, sig...), nil
}

func blob(magic uint32, payload []byte) []byte {
	out := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint32(out, magic)
	binary.BigEndian.PutUint32(out[4:], uint32(8+len(payload)))
	return append(out, payload...)
}

func superBlob(code []byte, o SignOptions) ([]byte, error) {
	be := binary.BigEndian
	reqs := blob(0xfade0c01, []byte{0, 0, 0, 0}) // requirements set, count 0
	var ents []byte
	if o.Entitlements != nil {
		ents = blob(0xfade7171, o.Entitlements)
	}
	// CodeDirectory 0x20400: 88-byte header, identifier, team, hashes.
	const nSpecial = 5
	nCode := (len(code) + 1<<pageShift - 1) >> pageShift
	hdr := make([]byte, 88)
	ident := append([]byte(o.Identifier), 0)
	team := []byte{}
	if o.TeamID != "" {
		team = append([]byte(o.TeamID), 0)
	}
	identOff := uint32(len(hdr))
	teamOff := uint32(0)
	if len(team) > 0 {
		teamOff = identOff + uint32(len(ident))
	}
	hashOff := identOff + uint32(len(ident)+len(team)) + nSpecial*32
	total := hashOff + uint32(nCode*32)
	be.PutUint32(hdr, 0xfade0c02)
	be.PutUint32(hdr[4:], total)
	be.PutUint32(hdr[8:], 0x20400)
	be.PutUint32(hdr[12:], 0) // flags
	be.PutUint32(hdr[16:], hashOff)
	be.PutUint32(hdr[20:], identOff)
	be.PutUint32(hdr[24:], nSpecial)
	be.PutUint32(hdr[28:], uint32(nCode))
	be.PutUint32(hdr[32:], uint32(len(code)))
	hdr[36], hdr[37], hdr[38], hdr[39] = 32, 2, 0, pageShift
	be.PutUint32(hdr[48:], teamOff)
	cd := append(append(append(hdr, ident...), team...), make([]byte, nSpecial*32)...)
	special := func(slot int, data []byte) {
		if data != nil {
			h := sha256.Sum256(data)
			copy(cd[int(hashOff)-slot*32:], h[:])
		}
	}
	special(2, reqs)
	special(5, ents)
	for i := 0; i < nCode; i++ {
		end := min((i+1)<<pageShift, len(code))
		h := sha256.Sum256(code[i<<pageShift : end])
		cd = append(cd, h[:]...)
	}
	var cms []byte
	if o.Cert != nil {
		sd, err := pkcs7.NewSignedData(cd)
		if err != nil {
			return nil, fmt.Errorf("machobuild: sign: %w", err)
		}
		if err := sd.SignWithoutAttr(o.Cert, o.Key, pkcs7.SignerInfoConfig{}); err != nil {
			return nil, fmt.Errorf("machobuild: sign: %w", err)
		}
		for _, c := range o.Chain {
			sd.AddCertificate(c)
		}
		sd.Detach()
		if cms, err = sd.Finish(); err != nil {
			return nil, fmt.Errorf("machobuild: sign: %w", err)
		}
	}
	blobs := []struct {
		slot uint32
		b    []byte
	}{{0, cd}, {2, reqs}}
	if ents != nil {
		blobs = append(blobs, struct {
			slot uint32
			b    []byte
		}{5, ents})
	}
	blobs = append(blobs, struct {
		slot uint32
		b    []byte
	}{0x10000, blob(0xfade0b01, cms)})
	head := 12 + 8*len(blobs)
	out := make([]byte, head)
	off := uint32(head)
	for i, x := range blobs {
		be.PutUint32(out[12+8*i:], x.slot)
		be.PutUint32(out[16+8*i:], off)
		off += uint32(len(x.b))
	}
	for _, x := range blobs {
		out = append(out, x.b...)
	}
	be.PutUint32(out, 0xfade0cc0)
	be.PutUint32(out[4:], uint32(len(out)))
	be.PutUint32(out[8:], uint32(len(blobs)))
	return out, nil
}
