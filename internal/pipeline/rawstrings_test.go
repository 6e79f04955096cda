package pipeline

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/pe"
)

// TestRawStringsSurviveTheCacheRoundTrip: a tree whose strings hold bytes
// that are not UTF-8 (a PE section named "PS\xd5\xab", an extractor's meta
// key) encodes to the same report bytes after the node cache's JSON round
// trip as before it.
func TestRawStringsSurviveTheCacheRoundTrip(t *testing.T) {
	root := artifact.NewRoot("setup\xff.exe")
	root.Meta = map[string]string{"name\xfe": "value\xfd", rawMark + "x": "plain"}
	root.PE = &pe.Summary{Anomalies: []string{"Section `PS\xd5\xab\xff` odd", "fine", rawMark + "looks escaped"}}
	root.AddIssue(artifact.KindParse, "pe", "bad \xc3 byte")
	want, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	mapStrings(reflect.ValueOf(root), escapeRaw)
	raw, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	mapStrings(reflect.ValueOf(root), unescapeRaw)
	if again, _ := json.Marshal(root); string(again) != string(want) {
		t.Fatalf("escaping in place and back changed the tree:\n%s\n%s", again, want)
	}
	var back artifact.Node
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	mapStrings(reflect.ValueOf(&back), unescapeRaw)
	got, _ := json.Marshal(&back)
	if string(got) != string(want) {
		t.Errorf("round trip changed the report bytes:\n got %s\nwant %s", got, want)
	}
	// without the escaping, the round trip does change them: the test
	// checks something real
	var plain artifact.Node
	raw2, _ := json.Marshal(root)
	_ = json.Unmarshal(raw2, &plain)
	if got2, _ := json.Marshal(&plain); string(got2) == string(want) {
		t.Error("a plain JSON round trip kept the bytes: the fixture has no raw string")
	}
}
