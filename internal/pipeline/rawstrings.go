package pipeline

import (
	"encoding/base64"
	"reflect"
	"strings"
	"unicode/utf8"
)

// A tree's strings are data from hostile files: names, version strings,
// section names can hold bytes that are not UTF-8. encoding/json writes
// such a byte as \ufffd, and reading that back gives a real U+FFFD, which a
// second encoding writes as its UTF-8 bytes: the report of a replay would
// differ from a fresh scan's. So before a tree goes to the node cache as
// JSON, every string that is not valid UTF-8 is replaced by rawMark and its
// bytes in base64 (and so is every string that starts with rawMark, so the
// mapping is one to one), and replay maps them back.
const rawMark = "\x00tomscan-raw:"

func escapeRaw(s string) string {
	if utf8.ValidString(s) && !strings.HasPrefix(s, rawMark) {
		return s
	}
	return rawMark + base64.StdEncoding.EncodeToString([]byte(s))
}

func unescapeRaw(s string) string {
	if !strings.HasPrefix(s, rawMark) {
		return s
	}
	b, err := base64.StdEncoding.DecodeString(s[len(rawMark):])
	if err != nil {
		return s // not ours (cannot happen for an entry we wrote): left as is
	}
	return string(b)
}

// mapStrings replaces, in place, every string reachable from v through
// exported struct fields, pointers, interfaces, slices, arrays and maps
// (keys and values) by f of it.
func mapStrings(v reflect.Value, f func(string) string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			mapStrings(v.Elem(), f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				mapStrings(v.Field(i), f)
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // bytes, not text
		}
		for i := 0; i < v.Len(); i++ {
			mapStrings(v.Index(i), f)
		}
	case reflect.String:
		if s := v.String(); v.CanSet() {
			if n := f(s); n != s {
				v.SetString(n)
			}
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			val := v.MapIndex(k)
			nv := reflect.New(val.Type()).Elem()
			nv.Set(val)
			mapStrings(nv, f)
			nk := k
			if k.Kind() == reflect.String {
				if s := f(k.String()); s != k.String() {
					nk = reflect.New(k.Type()).Elem()
					nk.SetString(s)
					v.SetMapIndex(k, reflect.Value{}) // delete the old key
				}
			}
			v.SetMapIndex(nk, nv)
		}
	}
}
