package termtable

import (
	"strings"
	"testing"
)

func TestWidth(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{{"abc", 3}, {"法轮功", 6}, {"x卧底下载 ", 10}, {"", 0}, {"é", 1}, {"e\u0301", 1}} {
		if got := Width(tc.s); got != tc.want {
			t.Errorf("Width(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

// TestFormatAlignsChinese: the column after a Chinese cell starts at the
// same display column as after an ASCII one.
func TestFormatAlignsChinese(t *testing.T) {
	out := Format([][]string{{"keyword", "list"}, {"法轮功", "keyfile"}, {"falun", "keyfile_u"}}, 2)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines:\n%s", out)
	}
	col := func(l, word string) int { return Width(l[:strings.Index(l, word)]) }
	if a, b, c := col(lines[0], "list"), col(lines[1], "keyfile"), col(lines[2], "keyfile_u"); a != b || b != c {
		t.Errorf("second column starts at %d, %d, %d:\n%s", a, b, c, out)
	}
	if strings.HasSuffix(lines[1], " ") {
		t.Error("last column padded")
	}
}
