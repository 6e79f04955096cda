package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tomscan/tomscan/internal/tom/geoip"
)

// TestReportNamesGeoIPDatabase: a TOM build's report gives an upload
// server's country, which is the GeoIP database's claim; the report names
// that database by the sha256 of its file (cache.geoip), so the claim can be
// traced to the data it came from. Without a readable database there is no
// country and nothing is named.
func TestReportNamesGeoIPDatabase(t *testing.T) {
	bin := sharedBinary(t)
	in := filepath.Join(corpusBuilds(t), "tom-zh-5.5.0.124-7z-nsis.7z")
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := runTool(t, bin, "scan", in, "--out", out, "--format", "json", "--quiet"); code != exitOK {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}
	reps, _ := filepath.Glob(filepath.Join(out, "builds", "*", "report.json"))
	if len(reps) != 1 {
		t.Fatalf("reports: %v", reps)
	}
	b, err := os.ReadFile(reps[0])
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Cache struct {
			GeoIP *string `json:"geoip"`
		} `json:"cache"`
		TOM struct {
			Endpoints []struct {
				Host, Country string
			} `json:"endpoints"`
		} `json:"tom"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	countries := 0
	for _, e := range r.TOM.Endpoints {
		if e.Country != "" {
			countries++
		}
	}
	db, err := os.ReadFile(geoip.DefaultPath)
	if err != nil {
		if r.Cache.GeoIP != nil || countries > 0 {
			t.Errorf("no GeoIP database (%v), yet the report names %v and gives %d countries", err, r.Cache.GeoIP, countries)
		}
		return
	}
	sum := sha256.Sum256(db)
	if r.Cache.GeoIP == nil || *r.Cache.GeoIP != hex.EncodeToString(sum[:]) {
		t.Errorf("cache.geoip = %v, want the sha256 of %s (%x)", r.Cache.GeoIP, geoip.DefaultPath, sum)
	}
	if countries == 0 {
		t.Errorf("no endpoint of this TOM build got a country: the test no longer shows what the digest stands behind")
	}
}
