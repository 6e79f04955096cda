package nsis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
	nsisscript "github.com/tomscan/tomscan/internal/unpack/nsis/script"
)

// readOwn extracts every file of the decoded files table with our own
// reader, for an installer 7z cannot read (why says what 7z did). Nothing
// is lost, so 7z's failure is recorded in the installer's "reader" table,
// not as an issue; damage our reader meets is an issue.
func readOwn(ctx context.Context, in unpack.Input, sink unpack.Sink, decoded *nsisscript.Result, why string) error {
	info := decoded.Installer()
	em := &emitter{in: in, sink: sink, solid: decoded.Layout.Solid, already: map[string]int{}, seen: map[string]int{}}
	ir := newItemReader(ctx, in, decoded.Layout)
	errs, err := ir.walk(itemsOf(decoded.Files), func(items []item, size int64, method string, body io.Reader) error {
		return em.visit(ctx, items, size, method, body)
	})
	info.Tables["reader"] = artifact.Table{Columns: []string{"reader", "result"}, Rows: [][]string{
		{"7z", why},
		{"tomscan", fmt.Sprintf("%d files read from the decoded files table (%s, %s)%s", em.count, decoded.Layout.Method, solidWord(decoded.Layout.Solid), uninstallerNote(decoded))},
	}}
	sink.Installer(info)
	reportWalk(sink, errs)
	return walkEnd(sink, err)
}

// uninstallerNote says what our reader does not do that 7z does.
func uninstallerNote(decoded *nsisscript.Result) string {
	if len(decoded.Uninstallers) == 0 {
		return ""
	}
	return fmt.Sprintf("; the uninstaller WriteUninstaller writes (%s) is not rebuilt", nsisscript.ListedName(decoded.Uninstallers[0][0]))
}

func solidWord(solid bool) string {
	if solid {
		return "solid"
	}
	return "not solid"
}

// reportWalk records the items our reader could not read.
func reportWalk(sink unpack.Sink, errs []error) {
	for i, e := range errs {
		if i == 20 {
			sink.Issue(artifact.KindExtract, fmt.Sprintf("nsis: %d more items not read", len(errs)-20))
			break
		}
		sink.Issue(artifact.KindExtract, e.Error())
	}
}

// walkEnd turns the error that ended a walk into an issue, or returns it
// when the extraction must end (the sink's stop, the deadline).
func walkEnd(sink unpack.Sink, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unpack.ErrStop), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, errBudget):
		sink.Issue(artifact.KindLimit, err.Error()+": the rest of the installer's data is not read")
		return nil
	}
	sink.Issue(artifact.KindExtract, err.Error())
	return nil
}

// crossCheck reads the decoded files table with our own reader after 7z
// has extracted: it emits what 7z listed or the script names but 7z did
// not extract (already counts 7z's children by name; it is updated), and
// compares 7z's (name, size) listing with ours, an issue when they differ.
func crossCheck(ctx context.Context, in unpack.Input, sink unpack.Sink, decoded *nsisscript.Result, listed []unpack.SLTItem, already map[string]int) error {
	em := &emitter{in: in, sink: sink, solid: decoded.Layout.Solid, already: already, seen: map[string]int{}}
	ir := newItemReader(ctx, in, decoded.Layout)
	var ours []sized
	errs, err := ir.walk(itemsOf(decoded.Files), func(items []item, size int64, method string, body io.Reader) error {
		cr := &counter{r: body}
		if err := em.visit(ctx, items, size, method, cr); err != nil {
			return err
		}
		// The size is what the block holds, read to its end.
		if _, err := io.Copy(io.Discard, cr); err != nil {
			if errors.Is(err, errBudget) || ctx.Err() != nil {
				return err
			}
			for _, it := range items {
				ours = append(ours, sized{it.name, -1})
			}
			return &itemError{items: items, err: err}
		}
		for _, it := range items {
			ours = append(ours, sized{it.name, cr.n})
		}
		return nil
	})
	var itemErr *itemError
	if errors.As(err, &itemErr) {
		errs, err = append(errs, err), nil
	}
	reportWalk(sink, errs)
	if err != nil {
		return walkEnd(sink, err)
	}
	// 7z lists the uninstaller that WriteUninstaller would write; our
	// reader reads files, it does not rebuild executables.
	uninstallers := map[string]bool{}
	for _, u := range decoded.Uninstallers {
		uninstallers[nsisscript.ListedName(u[0])] = true
	}
	var theirs []sized
	for _, it := range listed {
		name := strings.ReplaceAll(it["Path"], `\`, "/")
		if it.IsDir() || it["Path"] == ScriptName || uninstallers[name] && !slices.ContainsFunc(ours, func(s sized) bool { return s.name == name }) {
			continue
		}
		theirs = append(theirs, sized{name, it.Size()})
	}
	if diff := compareListings(theirs, ours); diff != "" {
		sink.Issue(artifact.KindExtract, "nsis: 7z's listing and tomscan's reader of the decoded files table disagree: "+diff)
	}
	return nil
}

// sized is one file as a listing gives it; size -1 when unknown.
type sized struct {
	name string
	size int64
}

// compareListings describes how two (name, size) multisets differ, or
// returns "". An unknown size matches any.
func compareListings(theirs, ours []sized) string {
	byName := func(l []sized) map[string][]int64 {
		m := map[string][]int64{}
		for _, s := range l {
			m[s.name] = append(m[s.name], s.size)
		}
		return m
	}
	a, b := byName(theirs), byName(ours)
	names := map[string]bool{}
	for n := range a {
		names[n] = true
	}
	for n := range b {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var diffs []string
	for _, n := range sorted {
		x, y := a[n], b[n]
		switch {
		case len(y) == 0:
			diffs = append(diffs, fmt.Sprintf("%s: only 7z lists it", n))
		case len(x) == 0:
			diffs = append(diffs, fmt.Sprintf("%s: only the script names it", n))
		case len(x) != len(y):
			diffs = append(diffs, fmt.Sprintf("%s: 7z lists it %d times, the script %d", n, len(x), len(y)))
		case !sameSizes(x, y):
			diffs = append(diffs, fmt.Sprintf("%s: 7z says %s bytes, tomscan reads %s", n, sizes(x), sizes(y)))
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	return fmt.Sprintf("%d names: %s", len(diffs), strings.Join(first(diffs, 20), "; "))
}

func sameSizes(x, y []int64) bool {
	x, y = sortedCopy(x), sortedCopy(y)
	unknown := 0
	for _, v := range append(x, y...) {
		if v < 0 {
			unknown++
		}
	}
	if unknown > 0 {
		// Unknown sizes match anything: compare only when both sides know
		// every size of the name.
		return true
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func sortedCopy(v []int64) []int64 {
	c := append([]int64(nil), v...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c
}

func sizes(v []int64) string {
	var s []string
	for _, x := range sortedCopy(v) {
		if x < 0 {
			s = append(s, "?")
		} else {
			s = append(s, strconv.FormatInt(x, 10))
		}
	}
	return strings.Join(s, ",")
}

// counter counts what passes through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
