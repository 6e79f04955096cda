package rules

import (
	"context"
	"testing"
)

// SourcesDigest is what Compile records as the set's Digest: a scan trusts
// it to stand for the compiled set.
func TestSourcesDigestIsCompiledDigest(t *testing.T) {
	srcs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	srcs = append(srcs, Source{Namespace: "extra", Path: "extra.yar", Text: []byte(`rule X { strings: $a = "x-digest" condition: $a }`)})
	set, err := Compile(context.Background(), srcs)
	if err != nil {
		t.Fatal(err)
	}
	if got := SourcesDigest(srcs); got != set.Digest {
		t.Fatalf("SourcesDigest = %s, Compile's Digest = %s", got, set.Digest)
	}
	if SourcesDigest(srcs[:1]) == set.Digest {
		t.Fatal("digest does not depend on the sources")
	}
}
