package pe

import (
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unicode/utf16"
)

// dnShortNames are the attribute names OpenSSL prints (its "short names",
// as `openssl x509 -subject` and osslsigncode show them); other attribute
// types are printed as their dotted OID, as OpenSSL does.
var dnShortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
	"2.5.4.13": "description", "2.5.4.15": "businessCategory", "2.5.4.17": "postalCode",
	"2.5.4.41": "name", "2.5.4.42": "GN", "2.5.4.43": "initials", "2.5.4.44": "generationQualifier",
	"2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier",
	"1.2.840.113549.1.9.1": "emailAddress", "1.2.840.113549.1.9.2": "unstructuredName",
	"0.9.2342.19200300.100.1.1": "UID", "0.9.2342.19200300.100.1.25": "DC",
	"1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL", "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
}

// oneline formats a DER Name the way OpenSSL's X509_NAME_oneline does
// (what osslsigncode prints): "/C=NL/ST=.../CN=...", attributes in their
// encoded order, OpenSSL's short names. Values are shown as text (UTF-8),
// where OpenSSL would escape non-ASCII bytes as \xHH; a value of a string
// type we cannot read is "#" and its DER in hex. Bad DER gives "".
func oneline(der []byte) string {
	var rdns []asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) > 0 {
		return ""
	}
	var b strings.Builder
	for _, set := range rdns {
		in := set.Bytes
		for len(in) > 0 {
			var atv struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}
			rest, err := asn1.Unmarshal(in, &atv)
			if err != nil {
				return b.String()
			}
			in = rest
			name, ok := dnShortNames[atv.Type.String()]
			if !ok {
				name = atv.Type.String()
			}
			b.WriteString("/" + name + "=" + dnValue(atv.Value))
		}
	}
	return b.String()
}

// dnValue decodes a DirectoryString or IA5String value.
func dnValue(v asn1.RawValue) string {
	if v.Class == asn1.ClassUniversal {
		switch v.Tag {
		case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagNumericString:
			return string(v.Bytes)
		case asn1.TagT61String: // Teletex, in practice Latin-1
			r := make([]rune, len(v.Bytes))
			for i, c := range v.Bytes {
				r[i] = rune(c)
			}
			return string(r)
		case asn1.TagBMPString:
			u := make([]uint16, len(v.Bytes)/2)
			for i := range u {
				u[i] = binary.BigEndian.Uint16(v.Bytes[2*i:])
			}
			return string(utf16.Decode(u))
		case 28: // UniversalString, UTF-32BE
			r := make([]rune, len(v.Bytes)/4)
			for i := range r {
				r[i] = rune(binary.BigEndian.Uint32(v.Bytes[4*i:]))
			}
			return string(r)
		}
	}
	return "#" + hex.EncodeToString(v.FullBytes)
}
