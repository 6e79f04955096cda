package unpack

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// SevenZipSays reads what 7-Zip printed to stderr: the archive's errors (the
// lines after "ERRORS:", such as "Unexpected end of archive", joined) and
// each file's ("ERROR: Data Error : dir/name", by the path it names). Its
// first line alone is "ERRORS:", which says nothing.
func SevenZipSays(stderr []byte) (archive string, files map[string]string) {
	files = map[string]string{}
	var lines []string
	for _, line := range strings.Split(string(stderr), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line == "ERRORS:" || line == "WARNINGS:":
		case strings.HasPrefix(line, "ERROR: "):
			if msg, name, ok := strings.Cut(strings.TrimPrefix(line, "ERROR: "), " : "); ok {
				files[name] = msg
			} else if !slices.Contains(lines, line) {
				lines = append(lines, line)
			}
		default:
			if !slices.Contains(lines, line) {
				lines = append(lines, line)
			}
		}
	}
	archive = strings.Join(lines, "; ")
	if len(archive) > 300 {
		archive = archive[:300] + "..."
	}
	return archive, files
}

// SevenZipFailure says how a 7-Zip run that exited non-zero failed: its
// exit code and the archive's errors, else how many files it named, else
// its first line of output.
func SevenZipFailure(res *ToolResult) string {
	archive, files := SevenZipSays(res.Stderr)
	switch {
	case archive != "":
	case len(files) > 0:
		archive = fmt.Sprintf("errors in %d files", len(files))
	default:
		archive = FirstLine(res.Stdout)
	}
	if archive == "" {
		archive = res.State
	}
	return fmt.Sprintf("exit %d: %s", res.ExitCode, archive)
}

// ErrAtEnd reads r and then returns err instead of io.EOF: a tool's verdict
// on a file it wrote becomes the child's read error, over its bytes as
// written.
func ErrAtEnd(r io.Reader, err error) io.Reader { return &errAtEnd{r: r, err: err} }

type errAtEnd struct {
	r   io.Reader
	err error
}

func (e *errAtEnd) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = e.err
	}
	return n, err
}
