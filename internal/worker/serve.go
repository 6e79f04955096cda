package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Handler answers one request in the child.
type Handler func(ctx context.Context, req []byte) ([]byte, error)

// Serve is the child's side: it reads the spec from fd 3, sets up with it,
// says it is ready, then answers requests on fd 4 until the parent closes the
// request pipe. setup's error goes back to the parent and ends the child.
func Serve(ctx context.Context, setup func(spec []byte) (Handler, error)) error {
	// The protocol's descriptors must not leak into the tools the child
	// runs: a tool holding the answer pipe would keep it open after the
	// child died, and could write into it.
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	// The parent decides about interruption; a stray SIGINT (the child has
	// its own process group, so not from the terminal) is ignored.
	signal.Ignore(os.Interrupt)
	in := os.NewFile(3, "worker-requests")
	out := os.NewFile(4, "worker-answers")
	if in == nil || out == nil {
		return errors.New("worker: fd 3 and 4 are not open: started by hand, not by tomscan")
	}
	if mark := os.Getenv(markEnv); mark != "" {
		// Each request's stderr starts after its mark (headBuffer).
		line := []byte("\n" + mark + "\n")
		return serve(ctx, in, out, func(spec []byte) (Handler, error) {
			h, err := setup(spec)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context, req []byte) ([]byte, error) {
				_, _ = os.Stderr.Write(line)
				return h(ctx, req)
			}, nil
		})
	}
	return serve(ctx, in, out, setup)
}

func serve(ctx context.Context, in io.Reader, out io.Writer, setup func(spec []byte) (Handler, error)) error {
	kind, spec, err := ReadFrame(in, MaxFrame)
	if err != nil {
		return err
	}
	if kind != KindSpec {
		return fmt.Errorf("worker: first frame %q, want the spec", kind)
	}
	h, err := setup(spec)
	if err != nil {
		_ = WriteFrame(out, KindError, []byte(err.Error()))
		return err
	}
	if err := WriteFrame(out, KindReady, nil); err != nil {
		return err
	}
	for {
		kind, req, err := ReadFrame(in, MaxFrame)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the parent is done with us
			}
			return err
		}
		if kind != KindRequest {
			return fmt.Errorf("worker: frame %q, want a request", kind)
		}
		ans, err := h(ctx, req)
		if err != nil {
			err = WriteFrame(out, KindError, []byte(err.Error()))
		} else {
			err = WriteFrame(out, KindAnswer, ans)
		}
		if err != nil {
			return err
		}
	}
}
