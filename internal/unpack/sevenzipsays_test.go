package unpack

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// What 7zz 26.02 printed to stderr extracting an NSIS installer cut short.
const truncatedStderr = "\nERRORS:\nUnexpected end of archive\n\nERROR: Data Error : Tom/libobjc-4.dll\nERROR: CRC Failed : a b : c.dll\n"

func TestSevenZipSays(t *testing.T) {
	archive, files := SevenZipSays([]byte(truncatedStderr))
	if archive != "Unexpected end of archive" || len(files) != 2 || files["Tom/libobjc-4.dll"] != "Data Error" || files["a b : c.dll"] != "CRC Failed" {
		t.Errorf("archive %q files %q", archive, files)
	}
	for _, tc := range []struct {
		res  ToolResult
		want string
	}{
		{ToolResult{ExitCode: 2, Stderr: []byte(truncatedStderr)}, "exit 2: Unexpected end of archive"},
		{ToolResult{ExitCode: 2, Stderr: []byte("\nERROR: Unsupported Method : 00000001\n")}, "exit 2: errors in 1 files"},
		{ToolResult{ExitCode: 7, Stdout: []byte("\nCommand Line Error:\n")}, "exit 7: Command Line Error:"},
		{ToolResult{ExitCode: -1, State: "killed"}, "exit -1: killed"},
	} {
		if got := SevenZipFailure(&tc.res); got != tc.want {
			t.Errorf("SevenZipFailure = %q, want %q", got, tc.want)
		}
	}
}

func TestErrAtEnd(t *testing.T) {
	verdict := errors.New("7-Zip: CRC Failed")
	b, err := io.ReadAll(ErrAtEnd(strings.NewReader("bytes as written"), verdict))
	if string(b) != "bytes as written" || err != verdict {
		t.Errorf("read %q, err %v", b, err)
	}
}
