// Package geoip reads MaxMind's legacy GeoIP Country database (GeoIP.dat,
// as shipped by Debian's geoip-database) to map IPv4 literals found in
// samples to a country, offline.
//
// # Format
//
// The file is a binary trie over the 32 bits of an IPv4 address, most
// significant bit first, followed by a small trailer.
//
//   - Nodes: node i lives at byte offset i*2*recordLength. It holds two
//     records of recordLength (3 for the country edition) bytes each,
//     little-endian: the left record is followed for a 0 bit, the right one
//     for a 1 bit.
//   - A record value x below countryBegin (16776960 = 0xFFFF00) is the index
//     of the next node. A value at or above it is a leaf: x-countryBegin is
//     the index into the country table below (0, "--", means unknown).
//   - After the trie comes a copyright text ("GEO-106FREE 20260704 Build
//     1 ...") and, within the last structureInfoMaxSize bytes, the
//     structure info: three 0xFF bytes and the edition byte (1 = IPv4
//     country; 12 = IPv6 country, city and ASN editions have other
//     numbers). For the country edition no segment count follows: the trie
//     simply ends where leaf values begin. Without structure info libGeoIP
//     assumes the country edition, and so do we; other editions are refused.
//
// Lookups never trust the file: every node offset is checked against the
// data, and a walk is at most 32 steps.
package geoip

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
)

const (
	countryBegin         = 16776960
	recordLength         = 3
	structureInfoMaxSize = 20
	maxFileBytes         = 64 << 20 // the country edition is ~2 MB; refuse anything absurd

	editionCountry = 1
)

// DefaultPath is where Debian's geoip-database installs the IPv4 country database.
const DefaultPath = "/usr/share/GeoIP/GeoIP.dat"

// ErrFormat is returned for a file that is not a legacy country database.
var ErrFormat = errors.New("geoip: not a legacy GeoIP country database")

// DB is an opened country database, safe for concurrent lookups. It reads
// the records a lookup walks from the file as it needs them (at most 32 of
// 3 bytes), instead of holding the file's 2 MB in memory: a scan's workers
// each opened it for a handful of lookups, and reading it into fresh memory
// cost more than all of them.
type DB struct {
	r    io.ReaderAt
	size int64
}

// Open opens the database at path. The file stays open for the DB's
// lookups; the DB has no Close (a process opens one and keeps it).
func Open(path string) (*DB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: open %s: %w", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("geoip: stat %s: %w", path, err)
	}
	if info.Size() > maxFileBytes {
		f.Close()
		return nil, fmt.Errorf("geoip: %s is %d bytes, more than %d: %w", path, info.Size(), maxFileBytes, ErrFormat)
	}
	db, err := newDB(f, info.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return db, nil
}

// New wraps a database held in memory.
func New(b []byte) (*DB, error) {
	return newDB(bytes.NewReader(b), int64(len(b)))
}

func newDB(r io.ReaderAt, size int64) (*DB, error) {
	if size < 2*recordLength {
		return nil, fmt.Errorf("geoip: %d bytes: %w", size, ErrFormat)
	}
	tail := make([]byte, min(size, structureInfoMaxSize+3))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil {
		return nil, fmt.Errorf("geoip: read the trailer: %w", err)
	}
	ed, ok := edition(tail)
	if ok && ed != editionCountry {
		return nil, fmt.Errorf("geoip: edition %d is not the IPv4 country edition: %w", ed, ErrFormat)
	}
	return &DB{r: r, size: size}, nil
}

// edition finds the trailer's edition byte (b: the file's last bytes, at
// least structureInfoMaxSize+3 of them when it has as many); absent means
// the original country edition, as in libGeoIP.
func edition(b []byte) (int, bool) {
	for i := 0; i < structureInfoMaxSize; i++ {
		p := len(b) - 3 - i
		if p < 0 || p+3 >= len(b) {
			continue
		}
		if b[p] == 0xff && b[p+1] == 0xff && b[p+2] == 0xff {
			return int(b[p+3]), true
		}
	}
	return 0, false
}

// Country returns the ISO 3166 alpha-2 code for addr ("CN"), "" when the
// database does not know it, and an error for a broken database or a
// non-IPv4 address.
func (db *DB) Country(addr netip.Addr) (string, error) {
	if !addr.Is4() && !addr.Is4In6() {
		return "", fmt.Errorf("geoip: %s is not IPv4", addr)
	}
	a := addr.Unmap().As4()
	ip := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	node := uint32(0)
	for depth := 31; depth >= 0; depth-- {
		off := int64(node) * 2 * recordLength
		if ip>>uint(depth)&1 == 1 {
			off += recordLength
		}
		if off < 0 || off+recordLength > db.size {
			return "", fmt.Errorf("geoip: node %d lies outside the %d-byte file: %w", node, db.size, ErrFormat)
		}
		var r [recordLength]byte
		if _, err := db.r.ReadAt(r[:], off); err != nil {
			return "", fmt.Errorf("geoip: read node %d: %w", node, err)
		}
		x := uint32(r[0]) | uint32(r[1])<<8 | uint32(r[2])<<16
		if x >= countryBegin {
			idx := int(x - countryBegin)
			if idx <= 0 || idx >= len(countryCodes) {
				return "", nil
			}
			return countryCodes[idx], nil
		}
		node = x
	}
	return "", fmt.Errorf("geoip: no leaf after 32 bits for %s: %w", addr, ErrFormat)
}

// countryCodes is libGeoIP's GeoIP_country_code table (index = leaf value
// minus countryBegin). "A1" anonymous proxy, "A2" satellite provider, "O1"
// other, "AP"/"EU" regions without a country.
var countryCodes = [...]string{
	"--", "AP", "EU", "AD", "AE", "AF", "AG", "AI", "AL", "AM", "CW", "AO",
	"AQ", "AR", "AS", "AT", "AU", "AW", "AZ", "BA", "BB", "BD", "BE", "BF",
	"BG", "BH", "BI", "BJ", "BM", "BN", "BO", "BR", "BS", "BT", "BV", "BW",
	"BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM",
	"CN", "CO", "CR", "CU", "CV", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM",
	"DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK",
	"FM", "FO", "FR", "SX", "GA", "GB", "GD", "GE", "GF", "GH", "GI", "GL",
	"GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
	"HN", "HR", "HT", "HU", "ID", "IE", "IL", "IN", "IO", "IQ", "IR", "IS",
	"IT", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR",
	"KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU",
	"LV", "LY", "MA", "MC", "MD", "MG", "MH", "MK", "ML", "MM", "MN", "MO",
	"MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
	"NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM",
	"PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT",
	"PW", "PY", "QA", "RE", "RO", "RU", "RW", "SA", "SB", "SC", "SD", "SE",
	"SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "ST", "SV",
	"SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TM", "TN", "TO",
	"TL", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ",
	"VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "RS",
	"ZA", "ZM", "ME", "ZW", "A1", "A2", "O1", "AX", "GG", "IM", "JE", "BL",
	"MF", "BQ", "SS", "O1",
}
