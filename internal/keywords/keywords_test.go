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
