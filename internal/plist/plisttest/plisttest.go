// Package plisttest compares decoded plists with Python's plistlib (the
// reference: /usr/bin/python3, Debian's python3, whose plistlib reads XML
// and binary plists) in one normal form: JSON where dicts are objects,
// integers {"int":"<decimal>"}, reals {"real":<number>}, dates
// {"date":"<RFC 3339 UTC>"}, data {"data":"<base64>"}, UIDs {"uid":<n>}.
package plisttest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"testing"
	"time"
)

const script = `
import plistlib, sys, json, base64, datetime
def n(v):
    if isinstance(v, bool): return v
    if isinstance(v, plistlib.UID): return {"uid": v.data}
    if isinstance(v, int): return {"int": str(v)}
    if isinstance(v, float): return {"real": v}
    if isinstance(v, str): return v
    if isinstance(v, (bytes, bytearray)): return {"data": base64.b64encode(v).decode()}
    if isinstance(v, datetime.datetime): return {"date": v.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if isinstance(v, list): return [n(x) for x in v]
    if isinstance(v, dict): return {k: n(x) for k, x in v.items()}
    raise TypeError(type(v))
print(json.dumps(n(plistlib.loads(sys.stdin.buffer.read()))))
`

// Python is the plist as plistlib reads it, in the normal form.
func Python(t testing.TB, b []byte) any {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", "-c", script)
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("plistlib: %v: %s", err, stderr.String())
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Normal is a value from plist.Decode in the normal form.
func Normal(v any) any {
	var n func(any) any
	n = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			m := map[string]any{}
			for k, e := range x {
				m[k] = n(e)
			}
			return m
		case []any:
			a := make([]any, len(x))
			for i, e := range x {
				a[i] = n(e)
			}
			return a
		case uint64:
			return map[string]any{"int": fmt.Sprintf("%d", x)}
		case int64:
			return map[string]any{"int": fmt.Sprintf("%d", x)}
		case float64:
			return map[string]any{"real": x}
		case []byte:
			return map[string]any{"data": base64.StdEncoding.EncodeToString(x)}
		case time.Time:
			return map[string]any{"date": x.UTC().Format("2006-01-02T15:04:05Z")}
		}
		return v
	}
	// through JSON so numbers compare as plistlib's do
	b, _ := json.Marshal(n(v))
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// Equal reports whether ours equals plistlib's reading of b.
func Equal(t testing.TB, b []byte, ours any) (bool, string) {
	t.Helper()
	py := Python(t, b)
	got := Normal(ours)
	if reflect.DeepEqual(py, got) {
		return true, ""
	}
	pj, _ := json.Marshal(py)
	gj, _ := json.Marshal(got)
	return false, fmt.Sprintf("plistlib: %s\nours:     %s", pj, gj)
}
