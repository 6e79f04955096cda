// Package ios reads an iOS app package (IPA: a ZIP holding
// Payload/<name>.app/): the app's Info.plist (XML or binary), the store's
// iTunesMetadata.plist and the provisioning profile
// embedded.mobileprovision. The executable and everything else in the
// bundle are unpacked and analysed as the ZIP's children like any file;
// this package says what the bundle declares about itself.
package ios

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/ayoubfaouzi/pkcs7"

	"github.com/tomscan/tomscan/internal/plist"
)

// App is what an IPA's bundle declares.
type App struct {
	Bundle          string          `json:"bundle"`     // "Payload/Skype.app"
	Executable      string          `json:"executable"` // the main binary's entry name: "Payload/Skype.app/Skype"
	InfoPlist       string          `json:"info_plist_format"`
	BundleID        string          `json:"bundle_id"`
	Name            string          `json:"name,omitempty"`
	DisplayName     string          `json:"display_name,omitempty"`
	ShortVersion    string          `json:"short_version,omitempty"`
	BuildVersion    string          `json:"build_version,omitempty"`
	MinimumOS       string          `json:"minimum_os,omitempty"`
	DevelopmentLang string          `json:"development_region,omitempty"`
	Localizations   []string        `json:"localizations,omitempty"` // CFBundleLocalizations
	LprojFolders    []string        `json:"lproj_folders,omitempty"` // <lang>.lproj in the bundle
	URLSchemes      []string        `json:"url_schemes,omitempty"`   // CFBundleURLTypes
	BackgroundModes []string        `json:"background_modes,omitempty"`
	ATS             *ATS            `json:"ats,omitempty"`
	ITunes          *ITunesMetadata `json:"itunes_metadata,omitempty"`
	Provision       *Provision      `json:"provisioning_profile,omitempty"`
	Issues          []Issue         `json:"-"` // copied onto the node by the pipeline
}

// ATS is NSAppTransportSecurity.
type ATS struct {
	AllowsArbitraryLoads bool           `json:"allows_arbitrary_loads,omitempty"`
	Exceptions           []ATSException `json:"exceptions,omitempty"`
}

// ATSException is one NSExceptionDomains entry.
type ATSException struct {
	Domain             string `json:"domain"`
	IncludesSubdomains bool   `json:"includes_subdomains,omitempty"`
	// InsecureHTTP: plain HTTP to this host is allowed
	// (NSExceptionAllowsInsecureHTTPLoads or its third-party form).
	InsecureHTTP  bool   `json:"insecure_http,omitempty"`
	MinimumTLS    string `json:"minimum_tls,omitempty"`
	NoForwardSecr bool   `json:"no_forward_secrecy,omitempty"`
}

// ITunesMetadata is the store's record of the purchase.
type ITunesMetadata struct {
	ItemID      string `json:"item_id,omitempty"`
	ItemName    string `json:"item_name,omitempty"`
	Artist      string `json:"artist,omitempty"`
	Genre       string `json:"genre,omitempty"`
	ReleaseDate string `json:"release_date,omitempty"`
	BundleID    string `json:"bundle_id,omitempty"` // softwareVersionBundleId
	Version     string `json:"version,omitempty"`   // bundleShortVersionString
	Storefront  int    `json:"storefront,omitempty"`
	Country     string `json:"country,omitempty"` // ISO 3166 code of the storefront
	CountryName string `json:"country_name,omitempty"`
}

// Provision is embedded.mobileprovision: a CMS-signed plist.
type Provision struct {
	Name         string   `json:"name,omitempty"`
	AppIDName    string   `json:"app_id_name,omitempty"`
	TeamIDs      []string `json:"team_ids,omitempty"`
	TeamName     string   `json:"team_name,omitempty"`
	UUID         string   `json:"uuid,omitempty"`
	Created      string   `json:"created,omitempty"`
	Expires      string   `json:"expires,omitempty"`
	Devices      int      `json:"provisioned_devices,omitempty"`
	Entitlements []string `json:"entitlements,omitempty"` // key=value, sorted
	Signers      []string `json:"signers,omitempty"`      // CMS certificate subjects, as stored
}

// Issue is a problem with the package, for the node.
type Issue struct {
	Kind    string // "parse-error", "limit"
	Message string
}

func (a *App) issue(kind, format string, args ...any) {
	a.Issues = append(a.Issues, Issue{Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// Analyze returns the app of an IPA, or nil when b is not a ZIP with an
// app bundle under Payload/. Problems reading the bundle's files are
// Issues on the App.
func Analyze(ctx context.Context, b []byte) (app *App, err error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, nil // not readable as a ZIP here: the zip extractor reports it
	}
	var bundles []string
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		name := strings.ReplaceAll(f.Name, "\\", "/")
		files[name] = f
		if b, ok := bundleOf(name); ok && path.Base(name) == "Info.plist" && path.Dir(name) == b {
			bundles = append(bundles, b)
		}
	}
	if len(bundles) == 0 {
		return nil, nil
	}
	sort.Strings(bundles)
	app = &App{Bundle: bundles[0]}
	if len(bundles) > 1 {
		app.issue("parse-error", "%d app bundles under Payload/ (%s): reading %s", len(bundles), strings.Join(bundles, ", "), bundles[0])
	}
	if err := ctx.Err(); err != nil {
		return app, err
	}
	lproj := map[string]bool{}
	for name := range files {
		if rest, ok := strings.CutPrefix(name, app.Bundle+"/"); ok {
			if dir, _, ok := strings.Cut(rest, "/"); ok && strings.HasSuffix(dir, ".lproj") {
				lproj[strings.TrimSuffix(dir, ".lproj")] = true
			}
		}
	}
	for l := range lproj {
		app.LprojFolders = append(app.LprojFolders, l)
	}
	sort.Strings(app.LprojFolders)

	if info, ok := app.readPlist(files, app.Bundle+"/Info.plist"); ok {
		app.InfoPlist = info.format
		app.info(info.d)
	}
	if f := files["iTunesMetadata.plist"]; f != nil {
		if md, ok := app.readPlist(files, "iTunesMetadata.plist"); ok {
			app.ITunes = itunes(md.d)
		}
	}
	if f := files[app.Bundle+"/embedded.mobileprovision"]; f != nil {
		if raw, ok := app.read(f); ok {
			app.Provision = app.provision(raw)
		}
	}
	return app, nil
}

// bundleOf returns "Payload/X.app" for a name inside an app bundle.
func bundleOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "Payload/")
	if !ok {
		return "", false
	}
	dir, _, ok := strings.Cut(rest, "/")
	if !ok || !strings.HasSuffix(dir, ".app") || dir == ".app" {
		return "", false
	}
	return "Payload/" + dir, true
}

// read decompresses one small member, at most plist.MaxBytes.
func (a *App) read(f *zip.File) ([]byte, bool) {
	if f.UncompressedSize64 > plist.MaxBytes {
		a.issue("limit", "%s: %d bytes exceeds the plist limit %d: not read", f.Name, f.UncompressedSize64, plist.MaxBytes)
		return nil, false
	}
	rc, err := f.Open()
	if err != nil {
		a.issue("parse-error", "%s: open: %v", f.Name, err)
		return nil, false
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, plist.MaxBytes+1))
	if err != nil {
		a.issue("parse-error", "%s: read: %v", f.Name, err)
		return nil, false
	}
	if len(b) > plist.MaxBytes {
		a.issue("limit", "%s: more than %d bytes: not read", f.Name, plist.MaxBytes)
		return nil, false
	}
	return b, true
}

type decoded struct {
	d      plist.Dict
	format string
}

func (a *App) readPlist(files map[string]*zip.File, name string) (decoded, bool) {
	f := files[name]
	if f == nil {
		return decoded{}, false
	}
	raw, ok := a.read(f)
	if !ok {
		return decoded{}, false
	}
	v, format, err := plist.Decode(raw)
	if err != nil {
		a.issue("parse-error", "%s: %v", name, err)
		return decoded{}, false
	}
	d := plist.AsDict(v)
	if d == nil {
		a.issue("parse-error", "%s: top value is not a dictionary", name)
		return decoded{}, false
	}
	return decoded{d: d, format: format}, true
}

func (a *App) info(d plist.Dict) {
	a.BundleID = d.String("CFBundleIdentifier")
	a.Name = d.String("CFBundleName")
	a.DisplayName = d.String("CFBundleDisplayName")
	a.ShortVersion = d.String("CFBundleShortVersionString")
	a.BuildVersion = d.String("CFBundleVersion")
	a.MinimumOS = d.String("MinimumOSVersion")
	a.DevelopmentLang = d.String("CFBundleDevelopmentRegion")
	a.Localizations = d.Strings("CFBundleLocalizations")
	if exe := d.String("CFBundleExecutable"); exe != "" && !strings.ContainsAny(exe, "/\\") {
		a.Executable = a.Bundle + "/" + exe
	} else {
		a.issue("parse-error", "Info.plist: CFBundleExecutable %q is not a file name in the bundle", exe)
	}
	for _, t := range d.Array("CFBundleURLTypes") {
		a.URLSchemes = append(a.URLSchemes, plist.AsDict(t).Strings("CFBundleURLSchemes")...)
	}
	a.BackgroundModes = d.Strings("UIBackgroundModes")
	if ats := d.Dict("NSAppTransportSecurity"); ats != nil {
		a.ATS = &ATS{}
		a.ATS.AllowsArbitraryLoads, _ = ats.Bool("NSAllowsArbitraryLoads")
		domains := ats.Dict("NSExceptionDomains")
		var names []string
		for k := range domains {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, host := range names {
			e := domains.Dict(host)
			x := ATSException{Domain: host}
			x.IncludesSubdomains, _ = e.Bool("NSIncludesSubdomains")
			h1, _ := e.Bool("NSExceptionAllowsInsecureHTTPLoads")
			h2, _ := e.Bool("NSThirdPartyExceptionAllowsInsecureHTTPLoads")
			h3, _ := e.Bool("NSTemporaryExceptionAllowsInsecureHTTPLoads")
			x.InsecureHTTP = h1 || h2 || h3
			x.MinimumTLS = e.String("NSExceptionMinimumTLSVersion")
			if fs, ok := e.Bool("NSExceptionRequiresForwardSecrecy"); ok && !fs {
				x.NoForwardSecr = true
			}
			a.ATS.Exceptions = append(a.ATS.Exceptions, x)
		}
	}
}

func itunes(d plist.Dict) *ITunesMetadata {
	m := &ITunesMetadata{
		ItemID: d.String("itemId"), ItemName: d.String("itemName"), Artist: d.String("artistName"),
		Genre: d.String("genre"), ReleaseDate: d.String("releaseDate"),
		BundleID: d.String("softwareVersionBundleId"), Version: d.String("bundleShortVersionString"),
	}
	// The storefront is "s" in the store's metadata (a number, or a
	// "143465-19,29" header value in some tools' output).
	for _, k := range []string{"s", "storefront"} {
		if v := d.String(k); v != "" {
			m.Storefront, m.Country, m.CountryName = Storefront(v)
			break
		}
	}
	return m
}

// provision reads the CMS envelope and the plist inside it.
func (a *App) provision(raw []byte) (p *Provision) {
	defer func() {
		if r := recover(); r != nil {
			a.issue("parse-error", "embedded.mobileprovision: CMS parser panicked: %v", r)
			p = nil
		}
	}()
	p7, err := pkcs7.Parse(raw)
	if err != nil {
		a.issue("parse-error", "embedded.mobileprovision: CMS: %v", err)
		return nil
	}
	p = &Provision{}
	for _, c := range p7.Certificates {
		p.Signers = append(p.Signers, c.Subject.String())
	}
	v, _, err := plist.Decode(p7.Content)
	if err != nil {
		a.issue("parse-error", "embedded.mobileprovision: %v", err)
		return p
	}
	d := plist.AsDict(v)
	p.Name, p.AppIDName, p.TeamName, p.UUID = d.String("Name"), d.String("AppIDName"), d.String("TeamName"), d.String("UUID")
	p.TeamIDs = d.Strings("TeamIdentifier")
	p.Created, p.Expires = d.String("CreationDate"), d.String("ExpirationDate")
	p.Devices = len(d.Array("ProvisionedDevices"))
	for k, v := range d.Dict("Entitlements") {
		p.Entitlements = append(p.Entitlements, k+"="+flat(v))
	}
	sort.Strings(p.Entitlements)
	return p
}

// flat renders a plist value on one line for the entitlement listing.
func flat(v any) string {
	switch x := v.(type) {
	case []any:
		var s []string
		for _, e := range x {
			s = append(s, flat(e))
		}
		return "[" + strings.Join(s, ",") + "]"
	case map[string]any:
		var s []string
		for k, e := range x {
			s = append(s, k+":"+flat(e))
		}
		sort.Strings(s)
		return "{" + strings.Join(s, ",") + "}"
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []byte:
		return fmt.Sprintf("<%d bytes>", len(x))
	}
	return fmt.Sprint(v)
}
