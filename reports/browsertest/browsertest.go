// Package browsertest drives one headless Chromium for the page tests over
// the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
// separated by NUL bytes on file descriptors 3 and 4), so a test package
// starts the browser once and opens every page in it. It never touches the
// network: pages are file:// URLs and the browser runs with a throwaway
// profile.
package browsertest

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Path is where setup.sh installs Chromium.
const Path = "/usr/bin/chromium"

// Browser is a running headless Chromium.
type Browser struct {
	cmd     *exec.Cmd
	w       io.WriteCloser
	mu      sync.Mutex
	id      int
	pending map[int]chan message
	waiters []*waiter
	done    chan struct{}
	err     error
	Timeout time.Duration // per command and per page load; 60 s by default
}

type message struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

type waiter struct {
	method, session string
	ch              chan message
}

// Start runs Chromium at path with its profile in profileDir.
func Start(path, profileDir string) (*Browser, error) {
	toChrome, ourW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("browsertest: pipe: %w", err)
	}
	ourR, fromChrome, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("browsertest: pipe: %w", err)
	}
	cmd := exec.Command(path, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
		"--user-data-dir="+profileDir, "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--mute-audio", "--font-render-hinting=none", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome} // fd 3: Chrome reads; fd 4: Chrome writes
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("browsertest: start %s: %w", path, err)
	}
	toChrome.Close()
	fromChrome.Close()
	b := &Browser{cmd: cmd, w: ourW, pending: map[int]chan message{}, done: make(chan struct{}), Timeout: 60 * time.Second}
	go b.read(ourR)
	return b, nil
}

func (b *Browser) read(r io.ReadCloser) {
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.err = fmt.Errorf("browsertest: browser pipe: %w", err)
			b.mu.Unlock()
			close(b.done)
			return
		}
		var m message
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch := b.pending[m.ID]; ch != nil {
				delete(b.pending, m.ID)
				ch <- m
			}
		} else if m.Method != "" {
			kept := b.waiters[:0]
			for _, w := range b.waiters {
				if w.method == m.Method && w.session == m.SessionID {
					w.ch <- m
					continue
				}
				kept = append(kept, w)
			}
			b.waiters = kept
		}
		b.mu.Unlock()
	}
}

// call sends one command (to a page's session, or to the browser when
// session is "") and decodes its result into out.
func (b *Browser) call(session, method string, params any, out any) error {
	b.mu.Lock()
	b.id++
	id := b.id
	ch := make(chan message, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := b.w.Write(append(raw, 0)); err != nil {
		return fmt.Errorf("browsertest: %s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("browsertest: %s: %s", method, m.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("browsertest: %s: %v", method, b.err)
	case <-time.After(b.Timeout):
		return fmt.Errorf("browsertest: %s: no answer in %s", method, b.Timeout)
	}
}

func (b *Browser) wait(session, method string) chan message {
	w := &waiter{method: method, session: session, ch: make(chan message, 1)}
	b.mu.Lock()
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	return w.ch
}

// Close ends the browser and waits for it.
func (b *Browser) Close() error {
	_ = b.call("", "Browser.close", nil, nil)
	b.w.Close()
	ch := make(chan error, 1)
	go func() { ch <- b.cmd.Wait() }()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-ch
	}
	return nil
}

// Page is one tab.
type Page struct {
	b       *Browser
	session string
	target  string
	Width   int
}

// NewPage opens a tab with a viewport width x height CSS pixels.
func (b *Browser) NewPage(width, height int) (*Page, error) {
	var t struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &t); err != nil {
		return nil, err
	}
	var s struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call("", "Target.attachToTarget", map[string]any{"targetId": t.TargetID, "flatten": true}, &s); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: s.SessionID, target: t.TargetID, Width: width}
	if err := b.call(p.session, "Page.enable", nil, nil); err != nil {
		return nil, err
	}
	if err := b.call(p.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height,
		"deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// Close closes the tab.
func (p *Page) Close() error {
	return p.b.call("", "Target.closeTarget", map[string]any{"targetId": p.target}, nil)
}

// Navigate loads url and waits for its load event; it returns how long
// that took.
func (p *Page) Navigate(url string) (time.Duration, error) {
	loaded := p.b.wait(p.session, "Page.loadEventFired")
	start := time.Now()
	var r struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.b.call(p.session, "Page.navigate", map[string]any{"url": url}, &r); err != nil {
		return 0, err
	}
	if r.ErrorText != "" {
		return 0, fmt.Errorf("browsertest: navigate %s: %s", url, r.ErrorText)
	}
	select {
	case <-loaded:
		return time.Since(start), nil
	case <-p.b.done:
		return 0, p.b.err
	case <-time.After(p.b.Timeout):
		return 0, fmt.Errorf("browsertest: %s did not load in %s", url, p.b.Timeout)
	}
}

// Eval runs a JavaScript expression in the page (a promise is awaited)
// and decodes its JSON value into out.
func (p *Page) Eval(expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := p.b.call(p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("browsertest: script: %s %s", r.Exception.Text, r.Exception.Exception.Description)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// Screenshot writes a PNG of the page from its top, the viewport's width
// and the document's height up to maxHeight CSS pixels.
func (p *Page) Screenshot(path string, maxHeight int) error {
	var h float64
	if err := p.Eval(`document.documentElement.scrollHeight`, &h); err != nil {
		return err
	}
	h = min(h, float64(maxHeight))
	var r struct {
		Data string `json:"data"`
	}
	if err := p.b.call(p.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": p.Width, "height": h, "scale": 1}}, &r); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return fmt.Errorf("browsertest: screenshot: %w", err)
	}
	if len(png) == 0 {
		return errors.New("browsertest: empty screenshot")
	}
	return os.WriteFile(path, png, 0o644)
}

// Shared is one browser per test binary: Get starts it on first use;
// Stop (from TestMain) ends it.
type Shared struct {
	once sync.Once
	b    *Browser
	err  error
	dir  string
}

// Get returns the shared browser, starting it with its profile in a
// temporary folder the first time.
func (s *Shared) Get() (*Browser, error) {
	s.once.Do(func() {
		if _, err := os.Stat(Path); err != nil {
			s.err = fmt.Errorf("browsertest: no Chromium at %s (make setup installs it)", Path)
			return
		}
		s.dir, s.err = os.MkdirTemp("", "tomscan-chromium-")
		if s.err == nil {
			s.b, s.err = Start(Path, s.dir)
		}
	})
	return s.b, s.err
}

// Stop ends the browser, if it was started, and removes its profile.
func (s *Shared) Stop() {
	if s.b != nil {
		_ = s.b.Close()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}
