package pipeline

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/nodecache"
	"github.com/tomscan/tomscan/pe"
)

// codecTree is a tree whose string sets take every shape the codec knows:
// none, no listing, an empty listing, listings with raw bytes, an empty
// value, negative and large numbers, and a value that looks like rawMark.
func codecTree() (*artifact.Node, []visitRec) {
	root := artifact.NewRoot("setup\xff.exe")
	root.Meta = map[string]string{"name\xfe": "value\xfd"}
	root.Strings = &pe.StringSet{Count: 3, Truncated: true, Strings: []pe.String{
		{Offset: 0, Encoding: pe.EncASCII, Value: "This program", Where: ".text"},
		{Offset: 1 << 40, Encoding: pe.EncUTF16LE, Value: "caf\xc3\xa9 \xff\xfe raw", Where: "RT_STRING/1/2052"},
		{Offset: -7, Encoding: "", Value: "", Where: ""},
	}}
	a := &artifact.Node{ID: "a", Path: []string{"a"}, Name: "a", Depth: 1, Strings: &pe.StringSet{Count: 0, Strings: []pe.String{}}}
	b := &artifact.Node{ID: "b", Path: []string{}, Name: "b", Depth: 1, Strings: &pe.StringSet{Count: -1 << 62}}
	c := &artifact.Node{ID: "c", Name: "c\xc3", Depth: 2, Strings: &pe.StringSet{Count: 1, Strings: []pe.String{{Offset: 9, Encoding: pe.EncGBK, Value: rawMark + "not escaped", Where: "\x00"}}}}
	d := &artifact.Node{ID: "d", Name: "d", Depth: 2} // no set
	a.Children = []*artifact.Node{c, d}
	root.Children = []*artifact.Node{a, b}
	order := []visitRec{
		{ID: root.ID, At: 0, Count: 1, Blob: nodecache.CheckOf([]byte("root"))},
		{ID: "a", Parent: root.ID, Blob: nodecache.CheckOf(nil)},
		{ID: "c", Parent: "a", At: 2},
	}
	return root, order
}

// TestTreeEntryRoundTrip: a tree encoded by entry's codec and decoded again
// gives the same report bytes (JSON of the tree) and the same string sets,
// nil and empty told apart; the tree encoded keeps its sets.
func TestTreeEntryRoundTrip(t *testing.T) {
	root, order := codecTree()
	want, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	wantSets := detachStrings(root)
	payload, err := encodeEntry(treeEntry{Order: order, Tree: root}, wantSets)
	if err != nil {
		t.Fatal(err)
	}
	attachStrings(root, wantSets)
	if again, _ := json.Marshal(root); !bytes.Equal(again, want) {
		t.Fatal("detaching and attaching the sets changed the tree")
	}
	if !bytes.HasPrefix(payload, []byte("{")) {
		t.Errorf("payload starts %q: the tree's JSON comes first", payload[:1])
	}
	e, err := decodeEntry(payload)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(e.Tree)
	if !bytes.Equal(got, want) {
		t.Errorf("round trip changed the report bytes:\n got %s\nwant %s", got, want)
	}
	if !reflect.DeepEqual(detachStrings(e.Tree), wantSets) {
		t.Error("round trip changed the string sets (nil and empty must stay apart)")
	}
	if !reflect.DeepEqual(e.Order, order) {
		t.Errorf("order %+v, want %+v", e.Order, order)
	}
}

// TestTreeEntryDamageIsAnError: every cut of a payload, and a payload with
// a byte more, is refused, never decoded into some other tree.
func TestTreeEntryDamageIsAnError(t *testing.T) {
	root, order := codecTree()
	sets := detachStrings(root)
	payload, err := encodeEntry(treeEntry{Order: order, Tree: root}, sets)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(payload); i++ {
		if _, err := decodeEntry(payload[:i]); err == nil {
			t.Fatalf("payload cut at %d of %d decoded", i, len(payload))
		}
	}
	if _, err := decodeEntry(append(payload[:len(payload):len(payload)], 0)); err == nil {
		t.Error("a byte after the last set was accepted")
	}
	js, _ := json.Marshal(treeEntry{Order: order, Tree: &artifact.Node{ID: "x", Children: []*artifact.Node{nil}}})
	if _, err := decodeEntry(append(js, '\n', 0, 0)); err == nil {
		t.Error("a tree with a nil child was accepted")
	}
}

// TestStringSetCodecKnowsEveryField: the binary block writes pe.StringSet
// and pe.String field by field. A field added to either would be lost on a
// replay: this fails until the codec writes it (and treeFormat changes).
func TestStringSetCodecKnowsEveryField(t *testing.T) {
	for typ, want := range stringSetFields {
		var got []string
		for i := 0; i < typ.NumField(); i++ {
			got = append(got, typ.Field(i).Name)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%v has fields %v; the node cache's codec writes %v: update treecodec.go and treeFormat", typ, got, want)
		}
	}
}

// FuzzDecodeTreeEntry: tree entries are bytes on disk. Whatever they hold,
// decoding never panics, and what decodes encodes again to a payload that
// decodes to the same entry, its string block byte for byte (one encoding
// per entry).
func FuzzDecodeTreeEntry(f *testing.F) {
	root, order := codecTree()
	sets := detachStrings(root)
	payload, err := encodeEntry(treeEntry{Order: order, Tree: root}, sets)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(payload)
	f.Add([]byte(`{"order":[],"tree":{"id":"r"}}` + "\n\x00"))
	f.Add([]byte(`{"order":[],"tree":{"id":"r"}}` + "\n\x02\x00\x00\xff\xff\xff\xff\x0f"))
	f.Add([]byte(`{"order":[],"tree":{"id":"r","children":[{"id":"c"}]}}` + "\n\x01\x02\x01\x02\x00\x00\x01\x00\x03abc\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		block := b[bytes.IndexByte(b, '\n')+1:]
		sets := detachStrings(e.Tree)
		again, err := encodeEntry(e, sets)
		if err != nil {
			t.Fatalf("decoded entry does not encode: %v", err)
		}
		if got := again[bytes.IndexByte(again, '\n')+1:]; !bytes.Equal(got, block) {
			t.Fatalf("string block encodes again differently:\n got %x\nwant %x", got, block)
		}
		e2, err := decodeEntry(again)
		if err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		attachStrings(e.Tree, sets)
		j1, _ := json.Marshal(e)
		j2, _ := json.Marshal(e2)
		if !bytes.Equal(j1, j2) {
			t.Fatalf("entry changed through a second round trip:\n%s\n%s", j1, j2)
		}
	})
}

// FuzzDecodeStringSets: the binary block alone, where the fuzzer reaches
// more than through the JSON in front of it. What decodes encodes again to
// the same bytes; nothing panics or allocates past what the bytes hold.
func FuzzDecodeStringSets(f *testing.F) {
	root, _ := codecTree()
	var block []byte
	sets := detachStrings(root)
	for _, s := range sets {
		block = appendSet(block, s)
	}
	f.Add(block, uint8(len(sets)))
	f.Add([]byte{setNil, setNoList, 0x01, 0x00}, uint8(2))
	f.Add([]byte{setListing, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}, uint8(1))
	f.Fuzz(func(t *testing.T, block []byte, n uint8) {
		sets, err := decodeSets(string(block), int(n))
		if err != nil {
			return
		}
		var again []byte
		for _, s := range sets {
			again = appendSet(again, s)
		}
		if !bytes.Equal(again, block) {
			t.Fatalf("decoded sets encode again differently:\n got %x\nwant %x", again, block)
		}
	})
}
