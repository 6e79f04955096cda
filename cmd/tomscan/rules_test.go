package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func runRules(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"rules"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestRulesCheck(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"shipped pack is clean under --strict", []string{"check", "--strict"}, exitOK, []string{"0 errors, 0 lint findings"}},
		{"broken file names file:line", []string{"check", "../../rules/testdata/broken"}, exitRulesFailed,
			[]string{"error: ../../rules/testdata/broken/broken.yar:13: undefined string \"$b\""}},
		{"lint findings are warnings", []string{"check", "../../rules/testdata/lint/short.yar"}, exitOK,
			[]string{"warning: ../../rules/testdata/lint/short.yar:11: short-atom",
				// libyara's own warnings name the file too
				"warning: ../../rules/testdata/lint/short.yar:12: string \"$regex\" may slow down scanning"}},
		{"--strict makes them errors", []string{"check", "--strict", "../../rules/testdata/lint/short.yar"}, exitRulesFailed,
			[]string{"error: ../../rules/testdata/lint/short.yar:11: short-atom"}},
		{"duplicates across files", []string{"check", "../../rules/testdata/lint/dup"}, exitOK,
			[]string{"duplicate-rule: rule Fixture_Twice: also defined at ../../rules/testdata/lint/dup/one.yar:1"}},
		{"missing path is a usage error", []string{"check", "/nonexistent/rules"}, exitUsage, nil},
		// the README's example: the pack folder, its testdata fixtures skipped
		{"rules/ skips testdata", []string{"check", "--strict", "../../rules/"}, exitOK, []string{"4 files, 8 rules: 0 errors, 0 lint findings"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runRules(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			for _, c := range tc.contains {
				if !strings.Contains(out, c) {
					t.Errorf("stdout lacks %q:\n%s", c, out)
				}
			}
		})
	}
}

func TestRulesCheckJSON(t *testing.T) {
	code, out, _ := runRules(t, "check", "--json", "../../rules/testdata/lint/unused.yar")
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// libyara itself refuses unreferenced strings; the linter says which.
	if code != exitRulesFailed || rep.OK || len(rep.Errors) != 1 || len(rep.Warnings) != 1 || rep.Warnings[0].Code != "unused-string" || rep.Warnings[0].Line != 12 {
		t.Errorf("exit %d report %+v", code, rep)
	}
}

func TestRulesUsage(t *testing.T) {
	if code, _, _ := runRules(t); code != exitUsage {
		t.Errorf("no subcommand: exit %d", code)
	}
	if code, _, _ := runRules(t, "frobnicate"); code != exitUsage {
		t.Errorf("unknown subcommand: exit %d", code)
	}
	if code, _, _ := runRules(t, "suggest", "--positive", "x"); code != exitUsage {
		t.Errorf("suggest without --negative: exit %d", code)
	}
	// a corpus folder that is not there is a usage error at startup, not a
	// failed run after the synthetic corpus was scanned
	code, _, errOut := runRules(t, "test", "--corpus", t.TempDir(), "--real", "/nonexistent/corpus/real")
	if code != exitUsage || !strings.Contains(errOut, "make corpus") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Errorf("missing corpus: exit %d %q", code, errOut)
	}
	t.Setenv("TOMSCAN_CORPUS", "")
	t.Setenv("TOMSCAN_REAL_CORPUS", "")
	if code, _, _ := runRules(t, "test"); code != exitUsage {
		t.Errorf("test without corpus: exit %d", code)
	}
}

// An undefined string is a compile error; the linter's own finding for it
// must not count it a second time.
func TestRulesCheckUndefinedOnce(t *testing.T) {
	code, out, _ := runRules(t, "check", "--json", "../../rules/testdata/broken")
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	n := 0
	for _, e := range rep.Errors {
		if strings.Contains(e, `undefined string "$b"`) {
			n++
		}
	}
	for _, w := range rep.Warnings {
		if w.Code == "undefined-string" {
			n++
		}
	}
	if code != exitRulesFailed || n != 1 {
		t.Errorf("exit %d, undefined $b reported %d times: %+v", code, n, rep)
	}
}
