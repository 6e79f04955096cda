package ruletest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tomscan/tomscan/internal/termtable"
	"github.com/tomscan/tomscan/reports"
)

// WriteTable writes res for a person: one line per rule, then the inputs
// behind every FP and FN, the example checks that failed, and a verdict line.
func WriteTable(w io.Writer, res *Result) error {
	// by display width (termtable), so a Chinese category still aligns;
	// names from rule files are escaped like any other input
	rows := [][]string{{"RULE", "CATEGORY", "TP", "FP", "FN", "TN", "PRECISION", "RECALL", "EXAMPLES"}}
	for _, st := range res.Rules {
		ok := 0
		for _, e := range st.Examples {
			if e.Matched {
				ok++
			}
		}
		rows = append(rows, []string{reports.Terminal(st.Rule), reports.Terminal(dash(st.Category)), fmt.Sprint(st.TP), fmt.Sprint(st.FP),
			fmt.Sprint(st.FN), fmt.Sprint(st.TN), ratio(st.Precision), ratio(st.Recall), fmt.Sprintf("%d/%d", ok, len(st.Examples))})
	}
	if _, err := io.WriteString(w, termtable.Format(rows, 2)); err != nil {
		return err
	}
	var b strings.Builder
	for _, st := range res.Rules {
		for _, h := range st.FalsePositives {
			fmt.Fprintf(&b, "FP %s: %s: %s\n", st.Rule, h.Input, strings.Join(h.Nodes, ", "))
		}
		for _, in := range st.FalseNegatives {
			fmt.Fprintf(&b, "FN %s: %s\n", st.Rule, in)
		}
		for _, e := range st.Examples {
			if e.Problem != "" {
				fmt.Fprintf(&b, "EXAMPLE %s: %s: %s\n", st.Rule, e.Example, e.Problem)
			}
		}
	}
	for _, r := range res.MissingRules {
		fmt.Fprintf(&b, "MISSING %s: the manifest expects it, the rule set does not define it\n", r)
	}
	for _, in := range res.Incomplete {
		fmt.Fprintf(&b, "INCOMPLETE %s\n", in)
	}
	verdict := "PASS"
	if !res.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "%s: %d builds, %d real files, %d rules: %d FP, %d FN, %d example errors\n",
		verdict, res.Builds, res.RealFiles, len(res.Rules), res.FP, res.FN, res.ExampleErr)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes res as indented JSON.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Result
		OK bool `json:"ok"`
	}{res, res.OK()})
}

func ratio(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *p)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
