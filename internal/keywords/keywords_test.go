package keywords

import "testing"

func TestCanonicalAndDigest(t *testing.T) {
	a := []string{"法轮功\r", " 六四 ", "", "法轮功", "\uFEFFabc"}
	b := []string{"abc", "六四", "法轮功"}
	got := Canonical(a)
	if len(got) != 3 || got[0] != "abc" || got[1] != "六四" || got[2] != "法轮功" {
		t.Fatalf("Canonical = %q", got)
	}
	if Digest(a) != Digest(b) {
		t.Fatalf("digests differ for equal lists")
	}
	if Digest(a) == Digest([]string{"abc"}) {
		t.Fatalf("digest ignores content")
	}
	// sha256 of "abc\n六四\n法轮功\n", computed independently with sha256sum.
	const want = "a6d5ccc0e59014d75a52368e6f516c5e9fd648f64f4c209b14c78716899848fe"
	if got := Digest(a); got != want {
		t.Fatalf("Digest = %s, want %s", got, want)
	}
}

// TestExactEntries: whitespace, order and duplicates are kept; only the
// terminator, a leading BOM and byte-less lines are not entries.
func TestExactEntries(t *testing.T) {
	text := "\uFEFFx卧底下载 \r\n法轮功\nx卧底下载\n\n法轮功\r\n\t六四\n"
	got := Entries(text)
	want := []string{"x卧底下载 ", "法轮功", "x卧底下载", "法轮功", "\t六四"}
	if len(got) != len(want) {
		t.Fatalf("Entries = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Entries[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	d := Distinct(got)
	if len(d) != 4 || d[0] != "x卧底下载 " || d[2] != "x卧底下载" {
		t.Fatalf("Distinct = %q", d)
	}
	dup := Duplicates(got)
	if len(dup) != 1 || dup[0].Entry != "法轮功" || dup[0].Count != 2 {
		t.Fatalf("Duplicates = %+v", dup)
	}
	// The normalised form merges the two x卧底下载 entries; the exact one does not.
	if n := len(Canonical(got)); n != 3 {
		t.Fatalf("Canonical kept %d, want 3", n)
	}
	// sha256 of "x卧底下载 \n法轮功\nx卧底下载\n法轮功\n\t六四\n" (printf ... | sha256sum).
	const wantDigest = "208f1e83db68fad3e41524159aede6b5a13142c5dfed8c37c87bfc482547fa05"
	if g := ExactDigest(got); g != wantDigest {
		t.Errorf("ExactDigest = %s, want %s", g, wantDigest)
	}
	if ExactDigest(got) == ExactDigest(Distinct(got)) {
		t.Error("ExactDigest ignores duplicates")
	}
	swapped := []string{got[1], got[0], got[2], got[3], got[4]}
	if ExactDigest(got) == ExactDigest(swapped) {
		t.Error("ExactDigest ignores order")
	}
}
