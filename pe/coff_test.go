package pe

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"testing"

	peparser "github.com/saferwall/pe"
)

// analyzeBoth is Analyze with the COFF symbol table skipped (as shipped)
// and read in full (saferwall's default limit), as JSON.
func analyzeBoth(t *testing.T, b []byte) (skipped, full string) {
	t.Helper()
	enc := func() string {
		sum, err := Analyze(context.Background(), b, Options{})
		js, jerr := json.Marshal(sum)
		if jerr != nil {
			t.Fatal(jerr)
		}
		if err != nil {
			return "error: " + err.Error() + " " + string(js)
		}
		return string(js)
	}
	skipped = enc()
	old := skipCOFFSymbols
	skipCOFFSymbols = 0
	defer func() { skipCOFFSymbols = old }()
	return skipped, enc()
}

// TestSkippingCOFFSymbolsChangesNothing: not reading the COFF symbol table
// leaves every summary as it was, anomalies included, over the real PEs
// ($TOMSCAN_REAL_CORPUS: the MinGW DLLs there keep tables of tens of
// thousands of symbols) and over the fixture with its symbol count set to
// 0, 1, 2, the default limit and one past it (where saferwall reports an
// absurd count, and must still).
func TestSkippingCOFFSymbolsChangesNothing(t *testing.T) {
	base := buildFixtures(t).exe
	e := int(binary.LittleEndian.Uint32(base[0x3c:]))
	for _, n := range []uint32{0, 1, 2, peparser.MaxDefaultCOFFSymbolsCount, peparser.MaxDefaultCOFFSymbolsCount + 1} {
		b := append([]byte(nil), base...)
		binary.LittleEndian.PutUint32(b[e+4+8:], 0x200) // PointerToSymbolTable
		binary.LittleEndian.PutUint32(b[e+4+12:], n)    // NumberOfSymbols
		if s, f := analyzeBoth(t, b); s != f {
			t.Errorf("%d symbols: summary differs when the table is skipped:\n got %s\nwant %s", n, s, f)
		}
	}
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set: real PEs not compared")
	}
	withTable := 0
	for _, p := range realPEs(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if binary.LittleEndian.Uint32(b[int(binary.LittleEndian.Uint32(b[0x3c:]))+4+12:]) > 1 {
			withTable++
		}
		if s, f := analyzeBoth(t, b); s != f {
			t.Errorf("%s: summary differs when the COFF symbol table is skipped", p)
		}
	}
	if withTable == 0 {
		t.Error("no real PE with a COFF symbol table: the comparison shows nothing")
	}
	t.Logf("%d real PEs with more than one COFF symbol", withTable)
}
