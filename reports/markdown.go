package reports

import (
	"bytes"
	"fmt"
	"strings"
)

// EncodeMarkdown renders r for people: verdict and evidence first, then
// endpoints, keyword lists, signers, version info, rule matches with their
// strings and the tree with each
// node's matches, findings and issues. Every string that came from a binary
// goes through Markdown, so it reads as text and never as markup.
func EncodeMarkdown(r *Report) []byte { return EncodeMarkdownView(NewView(r)) }

// EncodeMarkdownView is EncodeMarkdown from r's view (NewView), for a
// caller that derives other things from the same view; v is not changed.
func EncodeMarkdownView(v *View) []byte {
	var b bytes.Buffer
	e := Markdown
	fmt.Fprintf(&b, "# tomscan report: %s\n\n", e(v.Path))
	if v.Verdict != "" {
		fmt.Fprintf(&b, "**Verdict: %s** (confidence %.2f), status %s", e(v.Verdict), v.Confidence, e(v.Status))
	} else {
		fmt.Fprintf(&b, "**Verdict: no TOM analysis**, status %s", e(v.Status))
	}
	if v.StatusReason != "" {
		fmt.Fprintf(&b, " (%s)", e(v.StatusReason))
	}
	b.WriteString("\n\n| field | value |\n|---|---|\n")
	c := MarkdownCell
	fmt.Fprintf(&b, "| sha256 | `%s` |\n| version | %s |\n| size | %d |\n| type | %s |\n", c(v.SHA256), c(orDash(v.Version)), v.Size, c(v.Type))
	fmt.Fprintf(&b, "| nodes | %d (%d PE, %d duplicates, depth %d) |\n| matches | %d |\n| issues | %d |\n",
		v.Summary.Nodes, v.Summary.PEs, v.Summary.Duplicates, v.Summary.MaxDepth, v.Summary.Matches, v.Summary.Issues)
	fmt.Fprintf(&b, "| tool | %s %s |\n| rules digest | `%s` |\n", c(v.Tool.Name), c(v.Tool.Version), c(v.RulesDigest))
	if v.GeoIP != "" {
		fmt.Fprintf(&b, "| GeoIP database (countries) | `%s` |\n", c(v.GeoIP))
	}
	b.WriteString("\n")

	if v.Reason != "" {
		fmt.Fprintf(&b, "Why: %s\n\n", e(v.Reason))
	}
	if v.ProductNode != "" {
		fmt.Fprintf(&b, "Product executable: %s; language: %s, decided by %s\n\n", e(v.ProductNode), e(orDash(v.Language)), e(orDash(v.LanguageNode)))
	}
	b.WriteString("## Evidence\n\n")
	if len(v.Evidence) == 0 {
		b.WriteString("No evidence recorded.\n\n")
	} else {
		// the page's summary: the same string from several sources is one
		// row, certificate-byte noise is left out (report.json keeps all)
		fmt.Fprintf(&b, "The %d heaviest of %d distinct items (%d recorded", len(v.TopItems), v.Distinct, v.EvidenceTotal)
		if v.DERNoise > 0 {
			fmt.Fprintf(&b, "; %d certificate-byte strings left out", v.DERNoise)
		}
		b.WriteString("), ranked by weight (report.json keeps all). Only executable content (pe-version-info, signer, pe-resources, installer-script, pe-strings) can decide a verdict.\n\n")
		var rows []Row
		for _, it := range v.TopItems {
			prov := it.Provenance
			if it.Also != "" {
				prov += " (also " + it.Also + ")"
			}
			rows = append(rows, Row{it.Weight, prov, it.Source, it.Node, it.Seen, it.Detail})
		}
		mdTable(&b, EvidenceColumns, rows)
	}
	if len(v.Rules) > 0 {
		b.WriteString("Rules that matched:\n\n")
		for _, rule := range v.Rules {
			fmt.Fprintf(&b, "- %s\n", e(rule))
		}
		b.WriteString("\n")
	}

	b.WriteString("## Endpoints\n\n")
	if len(v.Endpoints) == 0 {
		b.WriteString("No endpoints found.\n\n")
	} else {
		var rows []Row
		for _, ep := range v.Endpoints {
			rows = append(rows, Row{ep.Host, orDash(ep.Country), ep.Value, ep.Class, ep.Kind, ep.Encoding, ep.Node, fmt.Sprint(ep.Places), ep.Source})
		}
		mdTable(&b, []string{"host", "country", "value", "class", "kind", "encoding", "first seen in", "places", "source"}, rows)
	}

	b.WriteString("## Keyword lists\n\n")
	if len(v.KeywordLists) == 0 {
		b.WriteString("No keyword lists recovered.\n\n")
	} else {
		var rows []Row
		for _, kl := range v.KeywordLists {
			rows = append(rows, Row{kl.Name, fmt.Sprint(kl.Count), fmt.Sprint(kl.Total), fmt.Sprint(kl.Normalized), kl.Family, kl.Snapshot, kl.Jaccard,
				fmt.Sprint(len(kl.Added)), fmt.Sprint(len(kl.Removed)), kl.Cipher, kl.Key, kl.Location, kl.Node, kl.SHA256})
		}
		b.WriteString("Entries are exactly as decrypted: keywords counts distinct exact entries, entries every line, normalised the trimmed form (comparison only); an entry with spaces at an end is shown quoted.\n\n")
		mdTable(&b, []string{"list", "keywords", "entries", "normalised", "closest snapshot family", "snapshot", "jaccard", "added", "removed", "cipher", "key", "location", "node", "sha256"}, rows)
		for _, kl := range v.KeywordLists {
			for _, part := range []struct {
				what  string
				items []string
			}{{"added against the snapshot", kl.Added}, {"removed against the snapshot", kl.Removed}, {"duplicate entries", kl.Duplicates}} {
				if len(part.items) == 0 {
					continue
				}
				fmt.Fprintf(&b, "%s, %s (%d): ", e(kl.Name), part.what, len(part.items))
				for i, k := range part.items {
					if i > 0 {
						b.WriteString(" · ")
					}
					if part.what != "duplicate entries" {
						k = ShowEntry(k)
					}
					b.WriteString(e(k))
				}
				b.WriteString("\n\n")
			}
		}
		for _, kl := range v.KeywordLists {
			if len(kl.Keywords) == 0 {
				continue
			}
			// <details> is inline HTML that GitHub and most viewers fold; the
			// keywords inside are Markdown-escaped like everything else.
			fmt.Fprintf(&b, "<details><summary>%s: %d keywords</summary>\n\n", e(kl.Name), kl.Count)
			for _, k := range kl.Keywords {
				fmt.Fprintf(&b, "- %s\n", e(ShowEntry(k)))
			}
			b.WriteString("\n</details>\n\n")
		}
	}
	for _, s := range v.TOMExtra {
		fmt.Fprintf(&b, "## TOM: %s\n\n", e(s.Name))
		mdTable(&b, s.Columns, s.Rows)
	}

	b.WriteString("## Installer actions\n\n")
	if len(v.Installers) == 0 {
		b.WriteString("No installer tables (no NSIS, MSI or Inno Setup installer was decoded).\n\n")
	}
	for _, in := range v.Installers {
		fmt.Fprintf(&b, "### %s (%s)\n\n", e(in.Node), e(in.Format))
		for _, t := range in.Tables {
			fmt.Fprintf(&b, "**%s**\n\n", e(t.Name))
			mdTable(&b, t.Columns, t.Rows)
		}
		if len(in.Other) > 0 {
			fmt.Fprintf(&b, "Other tables, in report.json: %s\n\n", e(strings.Join(in.Other, ", ")))
		}
		if len(in.Script) > 0 {
			// Escaped text like every other string from a binary (a code
			// block would leave its markup raw in the file); hard line
			// breaks keep the lines, &nbsp; keeps their indentation.
			b.WriteString("Script:\n\n")
			for _, l := range in.Script {
				body := strings.TrimLeft(l, " ")
				fmt.Fprintf(&b, "%s%s  \n", strings.Repeat("&nbsp;", len(l)-len(body)), e(body))
			}
			b.WriteString("\n")
		}
	}

	for _, s := range v.Apps { // only for builds with an IPA or a Mach-O
		fmt.Fprintf(&b, "## %s\n\n", e(s.Name))
		mdTable(&b, s.Columns, s.Rows)
	}

	b.WriteString("## Signers\n\n")
	if len(v.Signers) == 0 {
		b.WriteString("No Authenticode signatures.\n\n")
	} else {
		var rows []Row
		for _, s := range v.Signers {
			rows = append(rows, Row{s.Node, s.Signer, s.Issuer, s.SigningTime, fmt.Sprint(s.DigestMatches), s.ChainTrusted})
		}
		mdTable(&b, []string{"node", "signer", "issuer", "signing time", "digest matches", "chain trusted"}, rows)
	}

	b.WriteString("## Version info\n\n")
	if len(v.Versions) == 0 {
		b.WriteString("No version info.\n\n")
	}
	for _, vb := range v.Versions {
		fmt.Fprintf(&b, "### %s", e(vb.Node))
		if vb.Table != "" {
			fmt.Fprintf(&b, " [%s]", e(vb.Table))
		}
		b.WriteString("\n\n")
		rows := []Row{{"FileVersion (fixed)", vb.FileVersion}, {"ProductVersion (fixed)", vb.ProductVersion}}
		for _, s := range vb.Strings {
			rows = append(rows, Row{s[0], s[1]})
		}
		mdTable(&b, []string{"key", "value"}, rows)
	}

	// The matched strings as `yara -s` prints them (offset:$name: data),
	// as on the page: a quoted report should not send its reader to the
	// JSON to see what a rule matched on.
	b.WriteString("## Rule matches\n\n")
	if len(v.Matches) == 0 {
		b.WriteString("No rule matched.\n\n")
	} else {
		for _, m := range v.Matches {
			fmt.Fprintf(&b, "- **%s** on %s", e(m.Rule), e(m.Node))
			if m.Description != "" {
				fmt.Fprintf(&b, ": %s", e(m.Description))
			}
			if m.Tags != "" {
				fmt.Fprintf(&b, " (tags: %s)", e(m.Tags))
			}
			b.WriteString("\n")
			for _, s := range m.Strings {
				fmt.Fprintf(&b, "  - %s\n", e(s))
			}
			if m.More > 0 {
				fmt.Fprintf(&b, "  - and %d more (report.json holds every one)\n", m.More)
			}
		}
		b.WriteString("\n")
	}

	b.WriteString("## File tree\n\n")
	for _, n := range v.Nodes {
		indent := strings.Repeat("  ", n.Depth)
		fmt.Fprintf(&b, "%s- **%s** (%s, %d bytes, sha256 `%s`", indent, e(n.Name), e(n.Type), n.Size, e(n.SHA256))
		if n.Extractor != "" {
			fmt.Fprintf(&b, ", via %s", e(n.Extractor))
		}
		if n.DuplicateOf != "" {
			fmt.Fprintf(&b, ", same bytes as %s", e(n.DuplicateOf))
		}
		b.WriteString(")\n")
		for _, m := range n.Matches {
			fmt.Fprintf(&b, "%s  - match: %s\n", indent, e(m))
		}
		for _, f := range n.Findings {
			fmt.Fprintf(&b, "%s  - finding: %s\n", indent, e(f))
		}
		for _, is := range n.Issues {
			fmt.Fprintf(&b, "%s  - issue %s\n", indent, e(is))
		}
	}
	b.WriteString("\n")
	return b.Bytes()
}

// mdTable writes a Markdown table with every cell escaped.
func mdTable(b *bytes.Buffer, cols []string, rows []Row) {
	for i, c := range cols {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(b, "| %s", MarkdownCell(c))
	}
	b.WriteString(" |\n")
	b.WriteString(strings.Repeat("|---", len(cols)) + "|\n")
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(b, "| %s", MarkdownCell(c))
		}
		b.WriteString(" |\n")
	}
	b.WriteString("\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
