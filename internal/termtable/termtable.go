// Package termtable lays out plain-text tables for a terminal by display
// width, not by bytes or runes: a Han character takes two columns, a
// combining mark none, so columns holding Chinese text line up.
package termtable

import (
	"strings"

	"github.com/mattn/go-runewidth"
)

// Width is the number of terminal columns s takes. East Asian ambiguous
// characters count as one column, as in a Western locale's terminal.
func Width(s string) int { return cond.StringWidth(s) }

var cond = &runewidth.Condition{EastAsianWidth: false}

// Format lays out rows (the first is usually the header) in columns
// separated by gap spaces; the last column is not padded. Cells must
// already be safe to print (no control characters): Format only measures.
func Format(rows [][]string, gap int) string {
	var widths []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], Width(c))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-Width(c)+gap))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
