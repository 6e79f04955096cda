package export

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"
)

// STIX 2.1 bundle of the TOM-Skype builds of an archive:
//
//   - one malware object, TOM-Skype (a family);
//   - an indicator per TOM build file: [file:hashes.'SHA-256'='<sha256>'];
//   - an indicator per endpoint of a TOM build: [url:value='<url>'] for a
//     URL (unless it holds '=', see below), and for its host
//     [domain-name:value='<host>'] or [ipv4-addr:value='<a.b.c.d>'];
//   - a relationship "indicates" from every indicator to the malware;
//   - a report per TOM build, referring to the malware, its indicators and
//     their relationships.
//
// Builds that are not TOM-Skype (regular Skype, the joint venture,
// unrelated files) are not threat indicators and are left out.
//
// Patterns have no spaces around '=' and one comparison each: the form the
// Mobile Verification Toolkit's .stix2 loader reads (it splits the pattern
// at every '=' and keys collections by malware, found through the
// relationships). A URL with '=' in it would break that split, so it gets no
// url indicator of its own: its host's indicator covers it, and the build's
// report description lists it.
//
// Ids are UUIDv5 over the object's content (the same indicator in two builds
// is one object), so the same archive gives the same bundle. STIX requires
// created and modified on every object (and published, valid_from): without
// Timestamps they are all Epoch, a fixed documented time that says "not
// recorded" and keeps the output byte-identical; with Timestamps they are
// the build's scan time when its report recorded one (scan --timestamps),
// else Now.

// Epoch is the time written when timestamps are off.
const Epoch = "1970-01-01T00:00:00.000Z"

// STIXOptions shape the bundle.
type STIXOptions struct {
	Timestamps bool
	Now        time.Time // used with Timestamps for builds without a scan time
}

// stixNamespace is the UUIDv5 namespace of tomscan's STIX ids:
// UUIDv5(NameSpace_URL, "https://github.com/tomscan/tomscan/stix").
var stixNamespace = uuid5([16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8},
	"https://github.com/tomscan/tomscan/stix")

// uuid5 is RFC 9562's name-based UUID with SHA-1.
func uuid5(ns [16]byte, name string) [16]byte {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

func stixID(typ, name string) string {
	u := uuid5(stixNamespace, typ+"\x00"+name)
	return fmt.Sprintf("%s--%x-%x-%x-%x-%x", typ, u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Bundle is a STIX 2.1 bundle.
type Bundle struct {
	Type    string   `json:"type"`
	ID      string   `json:"id"`
	Objects []Object `json:"objects,omitempty"`
}

// Object is one STIX object; fields a type does not use stay empty.
type Object struct {
	Type           string   `json:"type"`
	SpecVersion    string   `json:"spec_version"`
	ID             string   `json:"id"`
	Created        string   `json:"created"`
	Modified       string   `json:"modified"`
	Name           string   `json:"name,omitempty"`
	Description    string   `json:"description,omitempty"`
	IndicatorTypes []string `json:"indicator_types,omitempty"`
	Pattern        string   `json:"pattern,omitempty"`
	PatternType    string   `json:"pattern_type,omitempty"`
	PatternVersion string   `json:"pattern_version,omitempty"`
	ValidFrom      string   `json:"valid_from,omitempty"`
	MalwareTypes   []string `json:"malware_types,omitempty"`
	IsFamily       *bool    `json:"is_family,omitempty"`
	Aliases        []string `json:"aliases,omitempty"`
	RelType        string   `json:"relationship_type,omitempty"`
	SourceRef      string   `json:"source_ref,omitempty"`
	TargetRef      string   `json:"target_ref,omitempty"`
	ReportTypes    []string `json:"report_types,omitempty"`
	Published      string   `json:"published,omitempty"`
	ObjectRefs     []string `json:"object_refs,omitempty"`
	Labels         []string `json:"labels,omitempty"`
}

// stixString quotes s as a STIX pattern string literal: ' and \ escaped.
func stixString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// STIX builds the bundle of recs' TOM-Skype builds.
func STIX(recs []Record, opts STIXOptions) Bundle {
	isFamily := true
	malware := Object{Type: "malware", SpecVersion: "2.1", ID: stixID("malware", "TOM-Skype"),
		Name: "TOM-Skype", IsFamily: &isFamily, MalwareTypes: []string{"spyware"}, Aliases: []string{"TOM Skype"},
		Description: "Skype client distributed in China by TOM Online that filtered chat messages against downloaded keyword lists and uploaded flagged messages to servers in China (Villeneuve, \"Breaching Trust\", 2008)."}
	objs := map[string]*Object{}
	first := "" // the earliest time any object carries
	add := func(o Object, when string) *Object {
		if prev, ok := objs[o.ID]; ok {
			// the same indicator in several builds: one object, dated by
			// its first sighting
			if when < prev.Created {
				prev.Created, prev.Modified = when, when
				if prev.ValidFrom != "" {
					prev.ValidFrom = when
				}
			}
			return prev
		}
		o.Created, o.Modified = when, when
		objs[o.ID] = &o
		return &o
	}
	indicate := func(pattern, name, desc, when string) string {
		ind := add(Object{Type: "indicator", SpecVersion: "2.1", ID: stixID("indicator", pattern), Name: name, Description: desc,
			IndicatorTypes: []string{"malicious-activity"}, Pattern: pattern, PatternType: "stix", PatternVersion: "2.1", ValidFrom: when}, when)
		rel := add(Object{Type: "relationship", SpecVersion: "2.1", ID: stixID("relationship", ind.ID+" indicates "+malware.ID),
			RelType: "indicates", SourceRef: ind.ID, TargetRef: malware.ID}, when)
		return ind.ID + " " + rel.ID
	}
	var reports []Object
	for _, r := range recs {
		if !IsTOM(r.Verdict) {
			continue
		}
		when := Epoch
		if opts.Timestamps {
			when = stixTime(r.ScannedAt, opts.Now)
		}
		if first == "" || when < first {
			first = when
		}
		refs := map[string]bool{malware.ID: true}
		pairs := []string{indicate("[file:hashes.'SHA-256'="+stixString(strings.ToLower(r.SHA256))+"]",
			"TOM-Skype build "+r.SHA256, fmt.Sprintf("%s (%s, version %s)", r.Path, r.Verdict, r.Version), when)}
		var hostOnly []string
		for _, e := range r.Endpoints {
			if strings.Contains(e.Value, "://") && strings.Contains(e.Value, "=") {
				hostOnly = append(hostOnly, e.Value)
			}
			// MVT splits a pattern at every '=': a URL holding one (a query
			// string) would stop its loader, so such a URL is covered by its
			// host's indicator and named in the build's report instead.
			if strings.Contains(e.Value, "://") && !strings.Contains(e.Value, "=") {
				pairs = append(pairs, indicate("[url:value="+stixString(e.Value)+"]", e.Value, endpointDesc(e), when))
			}
			if h := strings.ToLower(e.Host); h != "" {
				if ip := net.ParseIP(h); ip != nil && ip.To4() != nil {
					pairs = append(pairs, indicate("[ipv4-addr:value="+stixString(h)+"]", h, endpointDesc(e), when))
				} else if ip == nil {
					pairs = append(pairs, indicate("[domain-name:value="+stixString(h)+"]", h, endpointDesc(e), when))
				}
			}
		}
		for _, p := range pairs {
			for _, id := range strings.Fields(p) {
				refs[id] = true
			}
		}
		desc := fmt.Sprintf("Build %s: verdict %s (confidence %g), version %s, %d endpoints, %d keyword lists.", r.SHA256, r.Verdict, r.Confidence, r.Version, len(r.Endpoints), len(r.Lists))
		if len(hostOnly) > 0 {
			desc += " URLs covered by their host's indicator: " + strings.Join(hostOnly, " ")
		}
		rep := Object{Type: "report", SpecVersion: "2.1", ID: stixID("report", r.SHA256), Created: when, Modified: when,
			Name: "tomscan: " + r.Path, Description: desc,
			ReportTypes: []string{"malware"}, Published: when, Labels: []string{r.Verdict}}
		for id := range refs {
			rep.ObjectRefs = append(rep.ObjectRefs, id)
		}
		sort.Strings(rep.ObjectRefs)
		reports = append(reports, rep)
	}
	b := Bundle{Type: "bundle"}
	if len(reports) == 0 {
		b.ID = stixID("bundle", "")
		return b
	}
	add(malware, first)
	for _, o := range objs {
		b.Objects = append(b.Objects, *o)
	}
	b.Objects = append(b.Objects, reports...)
	sort.Slice(b.Objects, func(i, j int) bool { return b.Objects[i].ID < b.Objects[j].ID })
	ids := make([]string, len(b.Objects))
	for i, o := range b.Objects {
		ids[i] = o.ID
	}
	b.ID = stixID("bundle", strings.Join(ids, " "))
	return b
}

func endpointDesc(e Endpoint) string {
	d := "TOM-Skype endpoint"
	if e.Class != "" {
		d += " (" + e.Class + ")"
	}
	if e.Country != "" {
		d += ", " + e.Country
	}
	return d + ": " + e.Value
}

// stixTime is a report's scan time in STIX form (UTC, milliseconds), else now.
func stixTime(scanned string, now time.Time) string {
	t, err := time.Parse(time.RFC3339Nano, scanned)
	if err != nil {
		t = now
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// WriteSTIX writes the bundle as indented JSON.
func WriteSTIX(w io.Writer, recs []Record, opts STIXOptions) error {
	b, err := json.MarshalIndent(STIX(recs, opts), "", "  ")
	if err != nil {
		return fmt.Errorf("export: stix: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("export: stix: %w", err)
	}
	return nil
}
