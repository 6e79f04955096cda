package archive_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

const chromiumPath = "/usr/bin/chromium"

// chromium runs headless Chromium on a file:// page with extra flags and
// returns stdout. It never touches the network and keeps its profile in a
// temp folder.
func chromium(t *testing.T, page string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,2000"}, extra...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, chromiumPath, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
	}
	return stdout.Bytes()
}

// artifacts is where screenshots are kept: $TOMSCAN_ARTIFACTS when set.
func artifacts(t *testing.T) string {
	if d := os.Getenv("TOMSCAN_ARTIFACTS"); d != "" {
		d = filepath.Join(d, "reports-browser")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// checkScreenshot fails unless the PNG shows something: not one flat colour.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	b := img.Bounds()
	colours := map[[3]uint32]bool{}
	dark := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if r+g+bl < 3*0x8000 {
				dark++
			}
		}
	}
	t.Logf("%s: %dx%d, %d colours, %d dark samples", filepath.Base(path), b.Dx(), b.Dy(), len(colours), dark)
	if len(colours) < 8 || dark < 500 {
		t.Errorf("%s looks blank: %d colours, %d dark samples", path, len(colours), dark)
	}
}

func TestPagesRenderInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("no Chromium at " + chromiumPath + " (make setup installs it)")
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	out := newArchive(t)
	shots := artifacts(t)
	for _, tc := range []struct {
		name, page string
		want       []string
	}{
		{"build-tom", filepath.Join(out, archive.BuildsDir, reportstest.TOMKey, archive.ReportHTML),
			[]string{`id="verdict"`, "tom-skype-english", `<table id="endpoints"`, "skypetools.tom.com", "法轮功"}},
		{"build-hostile", filepath.Join(out, archive.BuildsDir, reportstest.HostileKey, archive.ReportHTML),
			[]string{`id="verdict"`, "&lt;script&gt;alert(1)&lt;/script&gt;"}},
		{"index", filepath.Join(out, archive.IndexHTML),
			[]string{`<svg`, `id="timeline"`, "<polyline", `<table id="builds">`, "tom-skype-english", "regular-skype"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dom := string(chromium(t, tc.page, "--dump-dom"))
			for _, w := range tc.want {
				if !strings.Contains(dom, w) {
					t.Errorf("rendered DOM lacks %q", w)
				}
			}
			// a script from a binary would have added elements; none may exist
			if strings.Contains(dom, "<script>alert") || strings.Contains(dom, "<img") {
				t.Error("a hostile string became markup in the DOM")
			}
			shot := filepath.Join(shots, tc.name+".png")
			chromium(t, tc.page, "--screenshot="+shot)
			checkScreenshot(t, shot)
		})
	}
}
