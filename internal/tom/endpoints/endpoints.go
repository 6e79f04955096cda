// Package endpoints finds URLs, host names and IPv4 literals in the strings
// of a node and classifies them by what TOM-Skype used them for.
//
// Classes (first rule that applies wins):
//   - keyword-list: the path names a keyword list: /keyfile, /keyfile_u
//     (skypetools.tom.com/agent/keyfile, Knockel et al. 2011), or "keyword"
//     or "dlist" in the path.
//   - version-check: the path names a version check: skypever.php (the
//     same paper), or "version"/"checkver"/"getver" in the path.
//   - surveillance-upload: an http(s) URL on an IPv4 literal with a path
//     (Villeneuve 2008: the chat upload servers were addressed by IP), or
//     "upload" in the path.
//   - update: a download or update: "update", "download", "upgrade" in the
//     path or host, a path ending in .exe, .msi, .zip, .cab, or the home page
//     of a Skype distribution site for China (skype.tom.com, where
//     www.skype.com redirected Chinese users, Villeneuve 2008; skype.gmw.cn,
//     the joint venture's site after TOM), where the client sent users for
//     new versions.
//   - other: anything else, including bare host names and IPv4 literals.
//
// Bare IPv4 literals are taken only where they cannot be a version number
// ("5.1.4.10"): the first octet must be at least minBareFirstOctet, or the
// literal is followed by a port. Bare host names must be lower case and end
// in a known top-level domain, so "Skype.exe" and "System.Net" are not hosts.
package endpoints

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Classes.
const (
	ClassUpload      = "surveillance-upload"
	ClassKeywordList = "keyword-list"
	ClassVersion     = "version-check"
	ClassUpdate      = "update"
	ClassOther       = "other"
)

// Kinds of value.
const (
	KindURL  = "url"
	KindHost = "host"
	KindIPv4 = "ipv4"
)

const minBareFirstOctet = 20

// Hit is one endpoint seen in one string.
type Hit struct {
	Value  string // as found (URL, host or IPv4 literal)
	Kind   string // KindURL, KindHost, KindIPv4
	Host   string // lower-case host name or IPv4 literal
	Class  string
	Offset int64 // byte offset of the value in the node
}

// IsIPv4 tells whether h's host is an IPv4 literal.
func (h Hit) IsIPv4() bool {
	a, err := netip.ParseAddr(h.Host)
	return err == nil && a.Is4()
}

// The expressions are compiled at first use, not at start: every tomscan
// process links this package, and most never look for an endpoint (a
// scan's parent; a worker that replays cached builds).
var (
	urlRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(?:https?|ftp)://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+`)
	})
	hostRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,6}\b`)
	})
	ipRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b`) })
)

var tlds = map[string]bool{
	"com": true, "net": true, "org": true, "cn": true, "info": true, "biz": true, "edu": true,
	"gov": true, "mil": true, "int": true, "tv": true, "cc": true, "hk": true, "tw": true,
	"jp": true, "kr": true, "uk": true, "de": true, "fr": true, "ru": true, "io": true,
	"us": true, "eu": true, "me": true, "co": true, "nl": true, "se": true, "ch": true,
	"it": true, "es": true, "ca": true, "au": true, "in": true, "sg": true, "mo": true,
	"ee": true, "lu": true, "at": true, "be": true, "dk": true, "fi": true, "no": true,
	"pl": true, "br": true, "mx": true, "ws": true, "name": true, "mobi": true,
}

// Find returns the endpoints in one string value that starts at byte offset
// off of its node; enc ("ascii", "utf16le", "gbk") maps character positions
// back to byte offsets. Hits are in string order.
//
// Find runs on every string of every node, and most strings hold no
// endpoint: each pattern's regular expression runs only when the string has
// what every match of it needs ("://" for a URL, three dots for an IPv4
// literal, a label character, a dot and two lower-case letters for a host
// name), and the string is copied for masking only once something matched.
func Find(value string, off int64, enc string) []Hit {
	hasURL := strings.Contains(value, "://")
	hasIP := strings.Count(value, ".") >= 3
	hasHost := mayHoldHost(value)
	if !hasURL && !hasIP && !hasHost {
		return nil
	}
	var hits []Hit
	at := func(i int) int64 { return off + byteOffset(value[:i], enc) }
	var masked []byte // value with the matches so far blanked, once there are any
	mask := func(i, j int) {
		if masked == nil {
			masked = []byte(value)
		}
		for k := i; k < j; k++ {
			masked[k] = ' '
		}
	}
	rest := value
	if hasURL {
		for _, loc := range urlRE().FindAllStringIndex(value, -1) {
			u := trimURL(value[loc[0]:loc[1]])
			host := urlHost(u)
			if host == "" {
				continue
			}
			hits = append(hits, Hit{Value: u, Kind: KindURL, Host: host, Class: ClassifyURL(u), Offset: at(loc[0])})
			mask(loc[0], loc[0]+len(u))
		}
		if masked != nil {
			rest = string(masked)
		}
	}
	if hasIP {
		for _, loc := range ipRE().FindAllStringIndex(rest, -1) {
			v := rest[loc[0]:loc[1]]
			if !bareIPv4(rest, loc[0], loc[1]) {
				continue
			}
			host, _, _ := strings.Cut(v, ":")
			hits = append(hits, Hit{Value: v, Kind: KindIPv4, Host: host, Class: ClassOther, Offset: at(loc[0])})
			mask(loc[0], loc[1])
		}
		if masked != nil {
			rest = string(masked)
		}
	}
	if hasHost && mayHoldTLDHost(rest) {
		for _, loc := range hostRE().FindAllStringIndex(rest, -1) {
			v := rest[loc[0]:loc[1]]
			if !bareHost(rest, loc[0], loc[1]) {
				continue
			}
			hits = append(hits, Hit{Value: v, Kind: KindHost, Host: v, Class: ClassOther, Offset: at(loc[0])})
		}
	}
	return hits
}

// mayHoldHost: s holds what every match of hostRE ends with, a label's last
// character ([a-z0-9]), a dot and two lower-case letters.
func mayHoldHost(s string) bool {
	return anyDot(s, func(i int) bool {
		return i > 0 && i+2 < len(s) && isLabelEnd(s[i-1]) && isLower(s[i+1]) && isLower(s[i+2])
	})
}

// mayHoldTLDHost: s holds what every host hit ends with, a label's last
// character, a dot and a name of tlds that ends where hostRE's \b lets it
// (a character that is not an ASCII letter, digit or underscore, or the end
// of s). mayHoldHost lets every "name.dll" and "file.exe" through; on
// them hostRE found a match bareHost then refused, most of Find's time.
// It looks at the string hostRE runs on (with URLs and IPs blanked out),
// since a blank can end a name that ran on in the value.
func mayHoldTLDHost(s string) bool {
	return anyDot(s, func(i int) bool {
		if i == 0 || !isLabelEnd(s[i-1]) {
			return false
		}
		j := i + 1
		for j < len(s) && j-i <= 7 && isLower(s[j]) {
			j++
		}
		n := j - i - 1
		return n >= 2 && n <= 6 && (j == len(s) || !isWordChar(s[j])) && tlds[s[i+1:j]]
	})
}

// anyDot reports whether ok holds at the index of some dot of s.
func anyDot(s string, ok func(i int) bool) bool {
	for i := strings.IndexByte(s, '.'); i >= 0; {
		if ok(i) {
			return true
		}
		k := strings.IndexByte(s[i+1:], '.')
		if k < 0 {
			return false
		}
		i += 1 + k
	}
	return false
}

// isWordChar is an ASCII word character, as regexp's \b reads one.
func isWordChar(c byte) bool {
	return isLower(c) || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isLower(c byte) bool    { return c >= 'a' && c <= 'z' }
func isLabelEnd(c byte) bool { return isLower(c) || c >= '0' && c <= '9' }

// byteOffset is the length in the node's bytes of the decoded prefix s.
func byteOffset(s, enc string) int64 {
	switch enc {
	case "utf16le":
		n := int64(0)
		for _, r := range s {
			if r >= 0x10000 {
				n += 4
			} else {
				n += 2
			}
		}
		return n
	case "gbk":
		n := int64(0)
		for _, r := range s {
			if r < 0x80 {
				n++
			} else {
				n += 2
			}
		}
		return n
	}
	return int64(len(s))
}

// trimURL drops punctuation that ends a sentence or closes a bracket around
// the URL rather than belonging to it.
func trimURL(u string) string {
	for len(u) > 0 {
		c := u[len(u)-1]
		if strings.IndexByte(".,;:!)]'\"", c) < 0 {
			break
		}
		if c == ')' && strings.Count(u, "(") >= strings.Count(u, ")") {
			break
		}
		u = u[:len(u)-1]
	}
	return u
}

// urlHost returns the lower-case host of u, "" when it is not a plausible
// host (a format string "%s", empty, bad characters).
func urlHost(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	hostport := rest[:end]
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 {
		hostport = hostport[i+1:]
	}
	host := hostport
	if h, port, ok := strings.Cut(hostport, ":"); ok {
		if n, err := strconv.Atoi(port); err != nil || n > 65535 {
			return ""
		}
		host = h
	}
	host = strings.ToLower(host)
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		return host
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return ""
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return ""
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "" // all-digit TLD: a malformed IP, not a name
	}
	return host
}

func bareIPv4(s string, i, j int) bool {
	v := s[i:j]
	host, port, hasPort := strings.Cut(v, ":")
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return false
	}
	// Glued to more dots or digits: part of a longer version string.
	if i > 0 && (s[i-1] == '.' || s[i-1] == 'v' || s[i-1] == 'V') || j < len(s) && s[j] == '.' && j+1 < len(s) && isDigit(s[j+1]) {
		return false
	}
	if hasPort {
		if n, err := strconv.Atoi(port); err == nil && n > 0 && n <= 65535 {
			return true
		}
	}
	return a.As4()[0] >= minBareFirstOctet && !a.IsPrivate() && !a.IsLoopback() && !a.IsUnspecified() && !a.IsMulticast()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func bareHost(s string, i, j int) bool {
	v := s[i:j]
	if !tlds[v[strings.LastIndexByte(v, '.')+1:]] {
		return false
	}
	// Part of a longer token: upper case or an identifier around it
	// ("Foo.bar.com", "file.com.exe", "user@host.com" keeps the host).
	if i > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:i]); r == '.' || r == '_' || r == '\\' || isUpper(r) {
			return false
		}
	}
	if j < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[j:]); r == '.' || r == '_' || isUpper(r) {
			return false
		}
	}
	return true
}

func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }

// namespaceHosts serve XML schema namespace names.
var namespaceHosts = map[string]bool{"schemas.microsoft.com": true, "www.w3.org": true,
	"schemas.xmlsoap.org": true, "schemas.openxmlformats.org": true}

// ClassifyURL puts a URL in one of the classes above.
func ClassifyURL(u string) string {
	lower := strings.ToLower(u)
	_, rest, _ := strings.Cut(lower, "://")
	hostport, path := rest, ""
	if k := strings.IndexAny(rest, "/?#"); k >= 0 {
		hostport, path = rest[:k], rest[k:]
	}
	host, _, _ := strings.Cut(hostport, ":")
	if namespaceHosts[host] {
		// XML namespace names, not places a client fetches from: wine's
		// prntvpt.dll carries .../printing/printschemakeywords.
		return ClassOther
	}
	switch {
	case strings.Contains(path, "/keyfile") || strings.Contains(path, "keyword") || strings.Contains(path, "dlist"):
		return ClassKeywordList
	case strings.Contains(path, "skypever") || strings.Contains(path, "version") || strings.Contains(path, "checkver") || strings.Contains(path, "getver"):
		return ClassVersion
	case strings.Contains(path, "upload"):
		return ClassUpload
	case isIPv4(host) && len(strings.Trim(path, "/")) > 0:
		return ClassUpload
	}
	if distributionSites[host] && strings.Trim(path, "/") == "" {
		return ClassUpdate
	}
	for _, w := range []string{"update", "download", "upgrade"} {
		if strings.Contains(path, w) || strings.Contains(host, w) {
			return ClassUpdate
		}
	}
	for _, ext := range []string{".exe", ".msi", ".zip", ".cab"} {
		p, _, _ := strings.Cut(path, "?")
		if strings.HasSuffix(p, ext) {
			return ClassUpdate
		}
	}
	return ClassOther
}

// distributionSites are the sites Chinese users got Skype from.
var distributionSites = map[string]bool{"skype.tom.com": true, "skype.gmw.cn": true}

func isIPv4(h string) bool {
	a, err := netip.ParseAddr(h)
	return err == nil && a.Is4()
}
