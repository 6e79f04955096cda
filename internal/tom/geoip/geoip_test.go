package geoip

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func openDefault(t *testing.T) *DB {
	t.Helper()
	if _, err := os.Stat(DefaultPath); err != nil {
		t.Skipf("%s not installed (Debian package geoip-database): %v", DefaultPath, err)
	}
	db, err := Open(DefaultPath)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// Expected countries were read with geoiplookup (libGeoIP 1.6.12) from the
// same GeoIP.dat.
func TestKnownAddresses(t *testing.T) {
	db := openDefault(t)
	for _, tc := range []struct{ ip, want string }{
		{"8.8.8.8", "US"},
		{"1.1.1.1", "AU"},
		{"193.0.6.139", "NL"},
		{"219.133.49.171", "CN"}, // TOM-Skype upload server in Villeneuve 2008
		{"61.135.159.96", "CN"},
		{"127.0.0.1", ""},
		{"10.0.0.1", ""},
	} {
		got, err := db.Country(netip.MustParseAddr(tc.ip))
		if err != nil {
			t.Fatalf("%s: %v", tc.ip, err)
		}
		if got != tc.want {
			t.Errorf("Country(%s) = %q, want %q", tc.ip, got, tc.want)
		}
	}
	if _, err := db.Country(netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Errorf("IPv6 address accepted")
	}
}

// TestAgainstGeoiplookup compares random addresses with libGeoIP's own tool
// when Debian's geoip-bin is installed.
func TestAgainstGeoiplookup(t *testing.T) {
	db := openDefault(t)
	tool, err := exec.LookPath("geoiplookup")
	if err != nil {
		t.Skip("geoiplookup (Debian geoip-bin) not installed")
	}
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 100; i++ {
		var a [4]byte
		for j := range a {
			a[j] = byte(r.IntN(256))
		}
		addr := netip.AddrFrom4(a)
		out, err := exec.Command(tool, "-f", DefaultPath, addr.String()).Output()
		if err != nil {
			t.Fatalf("geoiplookup %s: %v", addr, err)
		}
		want := ""
		if _, rest, ok := strings.Cut(string(out), ": "); ok && !strings.Contains(rest, "not found") {
			want, _, _ = strings.Cut(rest, ",")
		}
		got, err := db.Country(addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if got != want {
			t.Errorf("Country(%s) = %q, geoiplookup says %q", addr, got, want)
		}
	}
}

// trie builds a tiny database: 0.0.0.0/1 -> US, 128.0.0.0/2 -> CN,
// 192.0.0.0/2 -> unknown.
func trie() []byte {
	rec := func(x uint32) []byte { return []byte{byte(x), byte(x >> 8), byte(x >> 16)} }
	var b []byte
	b = append(b, rec(countryBegin+225)...) // node 0, bit 0: US
	b = append(b, rec(1)...)                // node 0, bit 1: node 1
	b = append(b, rec(countryBegin+48)...)  // node 1, bit 0: CN
	b = append(b, rec(countryBegin+0)...)   // node 1, bit 1: "--"
	return append(b, 0xff, 0xff, 0xff, editionCountry)
}

func TestSyntheticTrie(t *testing.T) {
	db, err := New(trie())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ip, want string }{
		{"1.2.3.4", "US"}, {"127.255.255.255", "US"}, {"128.0.0.1", "CN"}, {"191.1.1.1", "CN"}, {"200.1.1.1", ""},
	} {
		got, err := db.Country(netip.MustParseAddr(tc.ip))
		if err != nil || got != tc.want {
			t.Errorf("Country(%s) = %q, %v; want %q", tc.ip, got, err, tc.want)
		}
	}
}

func TestBrokenDatabases(t *testing.T) {
	loop := trie()
	loop[3], loop[4], loop[5] = 0x10, 0, 0 // node 0 bit 1 -> node 16: past the end
	db, err := New(loop)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Country(netip.MustParseAddr("200.0.0.1")); !errors.Is(err, ErrFormat) {
		t.Errorf("out-of-file node: err = %v, want ErrFormat", err)
	}
	self := trie()
	self[3], self[4], self[5] = 0, 0, 0 // node 0 bit 1 -> node 0: walk must end after 32 bits
	db, _ = New(self)
	if _, err := db.Country(netip.MustParseAddr("255.255.255.255")); !errors.Is(err, ErrFormat) {
		t.Errorf("self loop: err = %v, want ErrFormat", err)
	}
	city := append(trie()[:12], 0xff, 0xff, 0xff, 2, 0, 0, 0)
	if _, err := New(city); !errors.Is(err, ErrFormat) {
		t.Errorf("city edition accepted: %v", err)
	}
	if _, err := New([]byte{1}); !errors.Is(err, ErrFormat) {
		t.Errorf("1-byte file accepted: %v", err)
	}
	// Open says the same of a file as New of its bytes, and reads its
	// records from it.
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		want string // the error's start; "" for none
	}{{"city.dat", city, "geoip: edition 2 "}, {"short.dat", []byte{1}, "geoip: 1 bytes"}, {"country.dat", trie(), ""}} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path)
		switch {
		case tc.want != "" && (!errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("Open(%s): %v, want ErrFormat saying %q...", tc.name, err, tc.want)
		case tc.want == "" && err != nil:
			t.Errorf("Open(%s): %v", tc.name, err)
		case tc.want == "":
			if got, err := db.Country(netip.MustParseAddr("128.0.0.1")); err != nil || got != "CN" {
				t.Errorf("Open(%s): Country(128.0.0.1) = %q, %v; want CN", tc.name, got, err)
			}
		}
	}
}

func FuzzCountry(f *testing.F) {
	f.Add(trie(), uint32(0x80000001))
	f.Add([]byte{0xff, 0xff, 0xff, 1, 2, 3, 4}, uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, b []byte, ip uint32) {
		db, err := New(b)
		if err != nil {
			return
		}
		addr := netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)})
		c, err := db.Country(addr)
		if err == nil && c != "" && len(c) != 2 {
			t.Fatalf("country %q", c)
		}
	})
}
