package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tomscan/tomscan/reports/export/exporttest"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/reportstest"
)

func fixtures() []Input {
	var in []Input
	for k, r := range reportstest.All() {
		in = append(in, Input{Key: k, Report: r})
	}
	return in
}

// validateSTIX checks a bundle against the STIX 2.1 schema in testdata.
func validateSTIX(t *testing.T, b []byte) {
	t.Helper()
	if err := stixErr(t, b); err != nil {
		t.Fatalf("bundle does not validate: %v", err)
	}
}

func stixErr(t *testing.T, b []byte) error {
	t.Helper()
	sch := exporttest.STIXSchema(t)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

// The schema is not a rubber stamp: each mutation of a valid bundle that
// breaks a STIX 2.1 MUST is refused.
func TestSTIXSchemaRefuses(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSTIX(&buf, Records(fixtures(), nil), STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	for name, bad := range map[string]string{
		"spec_version 2.0":       strings.Replace(good, `"spec_version": "2.1"`, `"spec_version": "2.0"`, 1),
		"no pattern_type":        strings.Replace(good, `"pattern_type": "stix",`, ``, 1),
		"created without millis": strings.Replace(good, `"created": "1970-01-01T00:00:00.000Z"`, `"created": "1970-01-01T00:00:00Z"`, 1),
		"id not a UUID":          strings.Replace(good, `"id": "malware--`, `"id": "malware--x`, 1),
		"unknown property":       strings.Replace(good, `"is_family": true`, `"is_family": true, "colour": "red"`, 1),
	} {
		if bad == good {
			t.Fatalf("%s: mutation did not apply", name)
		}
		if stixErr(t, []byte(bad)) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The pattern forms tomscan writes (STIX patterning, one comparison).
var patternForm = regexp.MustCompile(`^\[(url:value|domain-name:value|ipv4-addr:value|file:hashes\.'SHA-256')='([^'\\]|\\['\\])*'\]$`)

func TestSTIXBundle(t *testing.T) {
	recs := Records(fixtures(), nil)
	var buf bytes.Buffer
	if err := WriteSTIX(&buf, recs, STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	validateSTIX(t, buf.Bytes())

	var again bytes.Buffer
	_ = WriteSTIX(&again, Records(fixtures(), nil), STIXOptions{})
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two exports of the same archive differ")
	}

	var b Bundle
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	byID := map[string]Object{}
	kinds := map[string]int{}
	patterns := map[string]bool{}
	for _, o := range b.Objects {
		if _, dup := byID[o.ID]; dup {
			t.Errorf("duplicate id %s", o.ID)
		}
		byID[o.ID] = o
		kinds[o.Type]++
		if o.Created != Epoch || o.Modified != Epoch {
			t.Errorf("%s: timestamps %s %s without --timestamps", o.ID, o.Created, o.Modified)
		}
		if o.Type == "indicator" {
			if !patternForm.MatchString(o.Pattern) {
				t.Errorf("pattern %q is not one of the forms", o.Pattern)
			}
			patterns[o.Pattern] = true
		}
	}
	// Two TOM builds (English, Chinese); the hostile, regular, joint-venture,
	// unrelated and failed builds are not TOM-Skype and stay out.
	if kinds["malware"] != 1 || kinds["report"] != 2 {
		t.Errorf("object kinds %v", kinds)
	}
	for _, want := range []string{
		"[file:hashes.'SHA-256'='" + reportstest.TOMKey + "']",
		"[file:hashes.'SHA-256'='" + reportstest.ChineseKey + "']",
		"[url:value='http://skypetools.tom.com/agent/keyfile']",
		"[url:value='http://220.181.9.132/agent/upload']",
		"[domain-name:value='skypetools.tom.com']",
		"[ipv4-addr:value='220.181.9.132']",
	} {
		if !patterns[want] {
			t.Errorf("no indicator %s", want)
		}
	}
	if strings.Contains(buf.String(), reportstest.RegularKey) {
		t.Error("the regular Skype build is in the bundle")
	}
	for _, o := range b.Objects {
		switch o.Type {
		case "relationship":
			if byID[o.SourceRef].Type != "indicator" || byID[o.TargetRef].Type != "malware" || o.RelType != "indicates" {
				t.Errorf("relationship %s: %s -%s-> %s", o.ID, o.SourceRef, o.RelType, o.TargetRef)
			}
		case "report":
			for _, ref := range o.ObjectRefs {
				if _, ok := byID[ref]; !ok {
					t.Errorf("report %s refers to %s, not in the bundle", o.ID, ref)
				}
			}
		}
	}
}

// mvtLoad reads a bundle the way the Mobile Verification Toolkit's .stix2
// loader does (mvt/common/indicators.py, parse_stix2): malware objects are
// collections, each indicator goes to the malware its "source_ref"
// relationship targets, its pattern is stripped of [] and split at '='
// (exactly two parts, or the loader fails), the value stripped of quotes.
func mvtLoad(t *testing.T, b []byte) map[string]map[string][]string {
	t.Helper()
	var doc struct {
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	malware := map[string]string{}
	var indicators, rels []map[string]any
	for _, o := range doc.Objects {
		switch o["type"] {
		case "malware":
			malware[o["id"].(string)] = o["name"].(string)
		case "indicator":
			indicators = append(indicators, o)
		case "relationship":
			rels = append(rels, o)
		}
	}
	out := map[string]map[string][]string{}
	for _, ind := range indicators {
		mal := ""
		for _, r := range rels {
			if r["source_ref"] == ind["id"] {
				if _, ok := malware[r["target_ref"].(string)]; ok {
					mal = r["target_ref"].(string)
					break
				}
			}
		}
		if mal == "" {
			t.Errorf("indicator %v belongs to no malware", ind["id"])
			continue
		}
		parts := strings.Split(strings.Trim(ind["pattern"].(string), "[]"), "=")
		if len(parts) != 2 {
			t.Errorf("MVT cannot split %q at '='", ind["pattern"])
			continue
		}
		name := malware[mal]
		if out[name] == nil {
			out[name] = map[string][]string{}
		}
		out[name][parts[0]] = append(out[name][parts[0]], strings.Trim(parts[1], "'"))
	}
	return out
}

func TestSTIXReadableByMVT(t *testing.T) {
	in := fixtures()
	// a URL with a query string: MVT would fail on its '='
	r := reportstest.TOM()
	var sec map[string]any
	_ = json.Unmarshal(r.TOMRaw, &sec)
	eps := sec["endpoints"].([]any)
	sec["endpoints"] = append(eps, map[string]any{"value": "http://skypetools.tom.com/agent/skypever.php?md5=1", "kind": "url", "host": "skypetools.tom.com", "class": "version-check"})
	r.TOMRaw, _ = json.Marshal(sec)
	r.TOM = nil
	in = append(in, Input{Key: "q", Report: r})
	var buf bytes.Buffer
	if err := WriteSTIX(&buf, Records(in, nil), STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	validateSTIX(t, buf.Bytes())
	got := mvtLoad(t, buf.Bytes())
	tom := got["TOM-Skype"]
	if len(got) != 1 || !contains(tom["domain-name:value"], "skypetools.tom.com") || !contains(tom["file:hashes.'SHA-256'"], reportstest.TOMKey) {
		t.Errorf("MVT reads %v", got)
	}
	if !strings.Contains(buf.String(), "covered by their host's indicator: http://skypetools.tom.com/agent/skypever.php?md5=1") {
		t.Error("the URL with '=' is not named in its build's report")
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func TestSTIXTimestamps(t *testing.T) {
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := WriteSTIX(&buf, Records(fixtures(), nil), STIXOptions{Timestamps: true, Now: now}); err != nil {
		t.Fatal(err)
	}
	validateSTIX(t, buf.Bytes())
	if strings.Contains(buf.String(), Epoch) || !strings.Contains(buf.String(), `"created": "2026-12-06T08:00:00.000Z"`) {
		t.Errorf("--timestamps: %s", buf.String()[:400])
	}
}

// RFC 9562 / Python's uuid.uuid5(uuid.NAMESPACE_DNS, "python.org").
func TestUUID5(t *testing.T) {
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	u := uuid5(dns, "python.org")
	if got := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]); got != "886313e1-3b8a-5372-9b90-0c9aee199e5d" {
		t.Errorf("uuid5 %s", got)
	}
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestCSV(t *testing.T) {
	recs := Records(fixtures(), nil)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, recs); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, buf.Bytes())
	if len(rows) != 1+len(reportstest.All()) {
		t.Fatalf("%d rows", len(rows))
	}
	head := strings.Join(rows[0], ",")
	if head != "path,sha256,version,verdict,confidence,language,status,endpoints,hosts,keyword_lists,keyfile_keywords,keyfile_u_keywords,other_keywords,closest_snapshot" {
		t.Errorf("header %s", head)
	}
	var tom []string
	for _, r := range rows[1:] {
		if r[1] == reportstest.TOMKey {
			tom = r
		}
	}
	want := []string{"TOM-Skype-3.8.0.188-en.exe", reportstest.TOMKey, "3.8.0.188", "tom-skype-english", "0.97", "en", "succeeded", "2",
		"220.181.9.132; skypetools.tom.com", "1", "5", "0", "0", "3.8/keyfile.2008-10-01 (jaccard 0.667)"}
	if strings.Join(tom, "|") != strings.Join(want, "|") {
		t.Errorf("TOM row\n got %q\nwant %q", tom, want)
	}
	// filter by verdict
	buf.Reset()
	_ = WriteCSV(&buf, Records(fixtures(), []string{"tom-skype-chinese"}))
	if rows := readCSV(t, buf.Bytes()); len(rows) != 2 || rows[1][1] != reportstest.ChineseKey || rows[1][5] != "zh" {
		t.Errorf("--verdict tom-skype-chinese: %q", rows)
	}
}

func TestCSVInjection(t *testing.T) {
	for in, want := range map[string]string{"=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0", "+1": "'+1", "-x": "'-x", "@SUM(1)": "'@SUM(1)", "plain": "plain", "": ""} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeywordsCSV(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "tom-skype-raw-data", "dlist-3.8")
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	// the snapshot holds falun, 六四, 法轮功, x卧底下载 and 天安门; the build's
	// list has falun, 六四 (twice), 法轮功, "x卧底下载 " (trailing space, as
	// decrypted) and x卧底下载: compared byte for byte, "x卧底下载 " was
	// added and 天安门 removed
	if err := os.WriteFile(filepath.Join(snap, "keyfile.2008-10-01.plain"), []byte("falun\n六四\n法轮功\nx卧底下载\n天安门\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs := Records(fixtures(), []string{"tom-skype-english"})
	var buf bytes.Buffer
	if err := WriteKeywordsCSV(context.Background(), &buf, recs, dir); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, buf.Bytes())
	got := map[string]string{}
	for _, r := range rows[1:] {
		if r[0] != reportstest.TOMKey || r[2] != "keyfile" || r[4] != "3.8/keyfile.2008-10-01" {
			t.Errorf("row %q", r)
		}
		got[r[5]] = r[6]
	}
	want := map[string]string{"falun": "known", "六四": "known", "法轮功": "known", "x卧底下载 ": "added", "x卧底下载": "known", "天安门": "removed"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	// the snapshot the report names must exist
	if err := WriteKeywordsCSV(context.Background(), &buf, recs, t.TempDir()); err == nil || !strings.Contains(err.Error(), "--keyword-lists") {
		t.Errorf("missing snapshot: %v", err)
	}
}

func TestNDJSON(t *testing.T) {
	recs := Records(fixtures(), nil)
	var buf bytes.Buffer
	if err := WriteNDJSON(&buf, recs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("%d lines for %d builds", len(lines), len(recs))
	}
	for i, l := range lines {
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.SHA256 != recs[i].SHA256 {
			t.Errorf("line %d: %v %s", i, err, l)
		}
	}
	var _ = reports.StatusFailed
}
