package endpoints

import (
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/pe"
)

// refFind is Find as it was before the prefilters (every regular expression
// on every string): the reference of TestFindMatchesReference and FuzzFind.
func refFind(value string, off int64, enc string) []Hit {
	var hits []Hit
	at := func(i int) int64 { return off + byteOffset(value[:i], enc) }
	masked := []byte(value)
	for _, loc := range urlRE().FindAllStringIndex(value, -1) {
		u := trimURL(value[loc[0]:loc[1]])
		host := urlHost(u)
		if host == "" {
			continue
		}
		hits = append(hits, Hit{Value: u, Kind: KindURL, Host: host, Class: ClassifyURL(u), Offset: at(loc[0])})
		for i := loc[0]; i < loc[0]+len(u); i++ {
			masked[i] = ' '
		}
	}
	rest := string(masked)
	for _, loc := range ipRE().FindAllStringIndex(rest, -1) {
		v := rest[loc[0]:loc[1]]
		if !bareIPv4(rest, loc[0], loc[1]) {
			continue
		}
		host, _, _ := strings.Cut(v, ":")
		hits = append(hits, Hit{Value: v, Kind: KindIPv4, Host: host, Class: ClassOther, Offset: at(loc[0])})
		for i := loc[0]; i < loc[1]; i++ {
			masked[i] = ' '
		}
	}
	rest = string(masked)
	for _, loc := range hostRE().FindAllStringIndex(rest, -1) {
		v := rest[loc[0]:loc[1]]
		if !bareHost(rest, loc[0], loc[1]) {
			continue
		}
		hits = append(hits, Hit{Value: v, Kind: KindHost, Host: v, Class: ClassOther, Offset: at(loc[0])})
	}
	return hits
}

// TestFindMatchesReference: on every string tomscan extracts from the
// synthetic corpus's files and from the real PEs (a sample under the race
// detector or -short), and on random strings of URL, IP and host pieces,
// Find returns what it did before the prefilters.
func TestFindMatchesReference(t *testing.T) {
	n := 0
	check := func(s pe.String) {
		n++
		got, want := Find(s.Value, s.Offset, s.Encoding), refFind(s.Value, s.Offset, s.Encoding)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Find(%q, %s) = %+v, reference %+v", s.Value, s.Encoding, got, want)
		}
	}
	pieces := []string{"http://", "https://", "ftp://", "HTTP://", "skype.tom.com", "www.", ".com", ".cn", "219.133.49.171", ":8080",
		"/agent/keyfile", "5.1.4.10", ".", "..", "a", "Z", " ", "_", "-", "192.168.1.1", "@", "%s", "(", ")", "访问", "1", ".exe", "Skype.exe"}
	rng := rand.New(rand.NewPCG(16, 4))
	for range 50000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		check(pe.String{Value: b.String(), Offset: 7, Encoding: []string{"ascii", "utf16le", "gbk"}[rng.IntN(3)]})
	}
	step := 1
	if testing.Short() || raceEnabled {
		step = 20
	}
	for _, env := range []string{"TOMSCAN_CORPUS", "TOMSCAN_REAL_CORPUS"} {
		dir := os.Getenv(env)
		if dir == "" {
			t.Logf("%s not set: not compared on it", env)
			continue
		}
		files := 0
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			if files++; files%step != 0 {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil || len(b) > 32<<20 {
				return err
			}
			for _, s := range pe.ExtractStrings(context.Background(), b, pe.StringOptions{MinLength: 6, Max: 1 << 20}).Strings {
				check(s)
			}
			return nil
		})
	}
	t.Logf("%d strings compared", n)
}

func FuzzFindReference(f *testing.F) {
	f.Add("url=http://219.133.49.171:8080/cgi-bin/msg.cgi")
	f.Add("server 219.133.49.171 or skype.gmw.cn")
	f.Add("Skype.exe msvcrt.dll System.Net.Http")
	// a host name that ends where a URL or an IP address was blanked out
	f.Add("see skype.comhttp://219.133.49.171/x and tom.cn219.133.49.171")
	f.Add("a.com- b.cn_c d.net1 e.info. user@host.org x.y.COM abc.toolong.mobi")
	f.Fuzz(func(t *testing.T, s string) {
		for _, enc := range []string{"ascii", "utf16le", "gbk"} {
			if got, want := Find(s, 3, enc), refFind(s, 3, enc); !reflect.DeepEqual(got, want) {
				t.Fatalf("Find(%q, %s) = %+v, reference %+v", s, enc, got, want)
			}
		}
	})
}

// benchStrings are the strings of the first 40 files of the real corpus.
func benchStrings(b *testing.B) []pe.String {
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		b.Skip("TOMSCAN_REAL_CORPUS not set")
	}
	var out []pe.String
	files := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || files >= 40 {
			return err
		}
		files++
		if data, err := os.ReadFile(p); err == nil {
			out = append(out, pe.ExtractStrings(context.Background(), data, pe.StringOptions{MinLength: 6, Max: 1 << 20}).Strings...)
		}
		return nil
	})
	return out
}

// BenchmarkFind and BenchmarkFindReference: Find with and without the
// prefilters over real strings (ns/op is per string).
func BenchmarkFind(b *testing.B)          { benchFind(b, Find) }
func BenchmarkFindReference(b *testing.B) { benchFind(b, refFind) }

func benchFind(b *testing.B, find func(string, int64, string) []Hit) {
	strs := benchStrings(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s := strs[i%len(strs)]
		find(s.Value, s.Offset, s.Encoding)
	}
}
