package artifact

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStampOfMovesWithWrites: a file's stamp is the same until it is written
// to, even with the same size and a modification time set back.
func TestStampOfMovesWithWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("tomscan"), 0o644); err != nil {
		t.Fatal(err)
	}
	stamp := func() FileStamp {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := StampOf(fi)
		if !ok {
			t.Skip("no change time on this system")
		}
		return s
	}
	before := stamp()
	if again := stamp(); again != before {
		t.Fatalf("untouched file: %+v then %+v", before, again)
	}
	time.Sleep(20 * time.Millisecond) // past the file system's clock tick
	if err := os.WriteFile(path, []byte("TOMSCAN"), 0o644); err != nil {
		t.Fatal(err)
	}
	mod := time.Unix(0, before.ModNs)
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
	after := stamp()
	if after == before || after.ChangeNs == before.ChangeNs || after.Size != before.Size || after.ModNs != before.ModNs {
		t.Fatalf("rewritten file, same size and modification time: %+v then %+v", before, after)
	}
}
