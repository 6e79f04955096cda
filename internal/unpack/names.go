package unpack

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// windowsDevices are names Windows maps to devices whatever the folder or extension.
var windowsDevices = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
}

// VetName turns an entry name from a container into the name tomscan reports.
// Names are never used as paths, but a name that would escape, be absolute or
// name a device if someone did extract it is reported: it comes back cleaned,
// with the reason. Empty reason means the name was fine as it was.
func VetName(raw string) (clean, reason string) {
	name := raw
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "\uFFFD")
		reason = "name is not valid UTF-8"
	}
	name = strings.ReplaceAll(name, "\\", "/")
	var why []string
	if reason != "" {
		why = append(why, reason)
	}
	if strings.ContainsRune(name, 0) {
		name = strings.ReplaceAll(name, "\x00", "")
		why = append(why, "NUL in name")
	}
	// Win32 device and NT object prefixes (\\?\, \\.\, \??\) come off first, so
	// the drive letter they usually carry is seen and dropped too.
	for _, prefix := range []string{"//?/", "//./", "/??/"} {
		if strings.HasPrefix(name, prefix) {
			name = name[len(prefix)-1:]
			why = append(why, "UNC or device path")
			name = strings.TrimPrefix(name, "/")
			if strings.HasPrefix(strings.ToUpper(name), "UNC/") {
				name = name[4:]
			}
			break
		}
	}
	if len(name) >= 2 && name[1] == ':' && isLetter(name[0]) {
		name = name[2:]
		why = append(why, "drive-letter path")
	}
	if strings.HasPrefix(name, "//") {
		why = append(why, "UNC or device path")
	}
	if strings.HasPrefix(name, "/") {
		why = append(why, "absolute path")
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch {
		case p == "" || p == ".":
			continue
		case p == "..":
			why = append(why, "parent-directory element")
			continue
		}
		base := strings.ToUpper(strings.TrimRight(p, ". "))
		if i := strings.IndexByte(base, '.'); i >= 0 {
			base = base[:i]
		}
		if windowsDevices[base] {
			why = append(why, fmt.Sprintf("Windows device name %q", p))
			p = "_" + p
		}
		parts = append(parts, p)
	}
	clean = strings.Join(parts, "/")
	if clean == "" {
		clean = "_unnamed"
		if raw != "" {
			why = append(why, "name is empty once cleaned")
		}
	}
	return clean, strings.Join(dedupe(why), "; ")
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
