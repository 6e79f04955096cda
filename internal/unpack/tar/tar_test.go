package tar_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/compress"
	tarx "github.com/tomscan/tomscan/internal/unpack/tar"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

var (
	client  = bytes.Repeat([]byte("MZ TOM-Skype client \x00\x01"), 3000)
	keyfile = bytes.Repeat([]byte("keyword\r\n"), 700)
	files   = map[string][]byte{"app/Skype.exe": client, "app/data/keyfile_u": keyfile, "readme.txt": []byte("hello\n")}
)

func extractors() []unpack.Extractor {
	return []unpack.Extractor{compress.Extractor{}, tarx.Extractor{}}
}

// TestTarballsAgainstGNUTar builds each member of the family with GNU tar
// and checks the engine's tree against `tar -tv`: every member at its path
// with its size, the compressed layer a node of its own.
func TestTarballsAgainstGNUTar(t *testing.T) {
	unpacktest.Tool(t, "tar")
	for _, tc := range []struct {
		file, flag, inner string
	}{
		{"a.tar", "", ""},
		{"a.tar.gz", "-z", "a.tar"},
		{"a.tgz", "-z", "a.tar"},
		{"a.tar.bz2", "-j", "a.tar"},
		{"a.tar.xz", "-J", "a.tar"},
		{"a.tar.zst", "--zstd", "a.tar"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if tc.flag == "--zstd" {
				unpacktest.Tool(t, "zstd")
			}
			args := []string{"-c", "-f", tc.file, "--sort=name", "--owner=0", "--group=0", "--mtime=2011-01-01"}
			if tc.flag != "" {
				args = append(args, tc.flag)
			}
			data := unpacktest.Build(t, files, tc.file, "tar", append(args, "app", "readme.txt")...)
			root := unpacktest.RunEngine(context.Background(), t, extractors(), tc.file, data, limits.Default())
			if is := unpacktest.Issues(root); len(is) > 0 {
				t.Fatalf("issues: %v", is)
			}
			tarNode := root
			if tc.inner != "" {
				if root.Container != "compress" || len(root.Children) != 1 || root.Children[0].Name != tc.inner {
					t.Fatalf("compressed layer: container %q children %d", root.Container, len(root.Children))
				}
				tarNode = root.Children[0]
			}
			if tarNode.Container != "tar" || tarNode.Type != "tar" {
				t.Fatalf("tar node: container %q type %q", tarNode.Container, tarNode.Type)
			}
			var got []string
			for _, c := range tarNode.Children {
				got = append(got, c.Name+" "+strconv.FormatInt(c.Size, 10))
				if want, ok := files[c.Name]; ok && c.SHA256 != unpacktest.Digest(want) {
					t.Errorf("%s: wrong bytes", c.Name)
				}
			}
			sort.Strings(got)
			if want := gnuListing(t, data, tc.flag); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("engine:\n%s\ntar -tv:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if len(got) != len(files) {
				t.Errorf("%d members, want %d", len(got), len(files))
			}
		})
	}
}

// gnuListing is `tar -tv` reduced to "name size" for regular files.
func gnuListing(t *testing.T, data []byte, flag string) []string {
	args := []string{"-tv", "-f", "-"}
	if flag != "" {
		args = append(args, flag)
	}
	cmd := exec.Command("tar", args...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tar -tv: %v", err)
	}
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || !strings.HasPrefix(f[0], "-") {
			continue
		}
		rows = append(rows, f[len(f)-1]+" "+f[2])
	}
	sort.Strings(rows)
	return rows
}

type member struct {
	hdr  tar.Header
	body []byte
}

// tarOf writes members with archive/tar; hostile names and sizes included.
func tarOf(t testing.TB, ms ...member) []byte {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, m := range ms {
		h := m.hdr
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		h.ModTime = time.Unix(1293840000, 0)
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(m.body))
		}
		if err := w.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if len(m.body) > 0 {
			w.Write(m.body)
		}
	}
	w.Close()
	return buf.Bytes()
}

// hugeDeclared is a tar whose one member declares 1 TiB and holds 4 bytes.
func hugeDeclared(t testing.TB) []byte {
	b := tarOf(t, member{hdr: tar.Header{Name: "big.bin"}, body: []byte("abcd")})
	h := b[:512]
	copy(h[124:136], []byte("17777777777\x00")) // 8 GiB - 1 in octal: the largest plain field
	sum := 0
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// TestAdversarial: names that escape, links out, a huge declared size and a
// cut archive are all recorded as issues while the rest is read.
func TestAdversarial(t *testing.T) {
	hostile := tarOf(t,
		member{hdr: tar.Header{Name: "../../etc/cron.d/evil"}, body: []byte("* * * * * root sh\n")},
		member{hdr: tar.Header{Name: "/etc/shadow"}, body: []byte("root::0:0\n")},
		member{hdr: tar.Header{Name: "ok/Skype.exe"}, body: client},
		member{hdr: tar.Header{Name: "ok/up", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc"}},
		member{hdr: tar.Header{Name: "ok/abs", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}},
		member{hdr: tar.Header{Name: "ok/inside", Typeflag: tar.TypeSymlink, Linkname: "Skype.exe"}},
		member{hdr: tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}},
		member{hdr: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo}},
	)
	root := unpacktest.RunEngine(context.Background(), t, extractors(), "hostile.tar", hostile, limits.Default())
	if root.Container != "tar" {
		t.Fatalf("container %q", root.Container)
	}
	byName := map[string]*artifact.Node{}
	for _, c := range root.Children {
		byName[c.Name] = c
	}
	for _, want := range []string{"etc/cron.d/evil", "etc/shadow"} {
		c := byName[want]
		if c == nil || len(c.Issues) == 0 || c.Issues[0].Kind != artifact.KindUnsafeName {
			t.Errorf("%s: want a child with an unsafe-name issue, got %+v", want, c)
		}
	}
	if c := byName["ok/Skype.exe"]; c == nil || c.SHA256 != unpacktest.Digest(client) {
		t.Errorf("the regular member is lost: %+v", c)
	}
	for name, target := range map[string]string{"ok/up": "../../../../etc", "ok/abs": "/etc/passwd", "ok/inside": "Skype.exe", "hard": "/etc/passwd"} {
		c := byName[name]
		if c == nil || c.Meta["link_target"] != target || c.Size != 0 {
			t.Errorf("link %s: want an empty child pointing at %s, got %+v", name, target, c)
		}
	}
	if c := byName["fifo"]; c == nil || c.Meta["tar_type"] != "fifo" {
		t.Errorf("fifo not recorded: %+v", c)
	}
	var outs []string
	for _, is := range root.Issues {
		if is.Kind == artifact.KindUnsafeName {
			outs = append(outs, is.Message)
		}
	}
	if len(outs) != 3 {
		t.Errorf("want 3 links-out issues (up, abs, hard), got %q", outs)
	}

	t.Run("huge declared size", func(t *testing.T) {
		l := limits.Default()
		l.MaxEntryBytes = 1 << 20
		root := unpacktest.RunEngine(context.Background(), t, extractors(), "big.tar", hugeDeclared(t), l)
		if len(root.Children) != 1 || len(root.Children[0].Issues) == 0 || root.Children[0].Issues[0].Kind != artifact.KindLimit {
			t.Fatalf("want one child with a limit issue, got %v", unpacktest.Issues(root))
		}
	})
	t.Run("truncated", func(t *testing.T) {
		cut := hostile[:len(hostile)/2]
		root := unpacktest.RunEngine(context.Background(), t, extractors(), "cut.tar", cut, limits.Default())
		if len(unpacktest.Issues(root)) == 0 || len(root.Children) == 0 {
			t.Fatalf("a cut tar must keep what was read and say it was cut: %v", unpacktest.Issues(root))
		}
		found := false
		for _, is := range root.Issues {
			found = found || is.Kind == artifact.KindExtract
		}
		for _, c := range root.Children {
			for _, is := range c.Issues {
				found = found || is.Kind == artifact.KindExtract
			}
		}
		if !found {
			t.Errorf("no extract-error for the cut: %v", unpacktest.Issues(root))
		}
	})
}

func TestMatch(t *testing.T) {
	good := tarOf(t, member{hdr: tar.Header{Name: "a"}, body: []byte("x")})
	if !(tarx.Extractor{}).Match(good, int64(len(good))) {
		t.Error("ustar not matched")
	}
	bad := bytes.Clone(good)
	bad[0] ^= 1 // checksum no longer right
	if (tarx.Extractor{}).Match(bad, int64(len(bad))) {
		t.Error("a header with a wrong checksum matched")
	}
	if (tarx.Extractor{}).Match(make([]byte, 1024), 1024) {
		t.Error("zeros matched")
	}
}

func FuzzTar(f *testing.F) {
	f.Add(tarOf(f, member{hdr: tar.Header{Name: "a/b.exe"}, body: client[:100]}))
	f.Add(tarOf(f, member{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../x"}}))
	f.Add(hugeDeclared(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := limits.Default()
		l.MaxEntryBytes, l.MaxTotalBytes = 1<<20, 4<<20
		unpacktest.Run(t, tarx.Extractor{}, data, unpacktest.Options{Limits: &l, MaxBody: 1 << 20})
	})
}

// TestTailCuts: a tar cut anywhere in its end (the padding, the two zero
// end blocks, right after the last member) is truncated, never a whole
// archive: archive/tar itself says io.EOF for a cut at a block boundary.
// The campaign found a GNU tar cut by 33 to 56 bytes reported succeeded.
func TestTailCuts(t *testing.T) {
	unpacktest.Tool(t, "tar")
	data := unpacktest.Build(t, files, "a.tar", "tar", "-c", "-f", "a.tar", "--sort=name", "--owner=0", "--group=0", "--mtime=2011-01-01", "app", "readme.txt")
	whole := unpacktest.RunEngine(context.Background(), t, extractors(), "a.tar", data, limits.Default())
	if is := unpacktest.Issues(whole); len(is) > 0 {
		t.Fatalf("whole tar: issues %v", is)
	}
	// The end of the last member's data: the first of the two zero blocks.
	end := len(data)
	for end >= 512 && bytes.Equal(data[end-512:end], make([]byte, 512)) {
		end -= 512
	}
	// Whole 512-byte padding blocks past the two zero blocks carry nothing:
	// cutting them leaves a whole archive (archive/tar writes none at all).
	for _, cut := range []int{1, 33, 64, 511, 513, len(data) - end - 512, len(data) - end - 100, len(data) - end} {
		t.Run(strconv.Itoa(cut), func(t *testing.T) {
			root := unpacktest.RunEngine(context.Background(), t, extractors(), "cut.tar", data[:len(data)-cut], limits.Default())
			found := false
			for _, is := range root.Issues {
				found = found || is.Kind == artifact.KindTruncated
			}
			if !found {
				t.Errorf("cut %d of %d: want a truncated issue, got %v", cut, len(data), unpacktest.Issues(root))
			}
			if len(root.Children) != len(whole.Children) {
				t.Errorf("cut %d: %d members, want the %d before the cut", cut, len(root.Children), len(whole.Children))
			}
		})
	}
}
