package xvfb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// Command is name run on the server's display.
func (s *Server) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, name, args...)
	c.Env = s.Env()
	return c
}

// Output runs name on the display and returns its standard output; the
// error carries its standard error.
func (s *Server) Output(ctx context.Context, name string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	c := s.Command(ctx, name, args...)
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// Capture is a picture of window win ("root" for the whole screen), taken
// with ImageMagick's import.
func (s *Server) Capture(ctx context.Context, win string) (image.Image, error) {
	data, err := s.Output(ctx, "import", "-window", win, "png:-")
	if err != nil {
		return nil, err
	}
	return png.Decode(strings.NewReader(data))
}

// Screenshot saves the whole screen as a PNG file.
func (s *Server) Screenshot(ctx context.Context, file string) error {
	_, err := s.Output(ctx, "import", "-window", "root", file)
	return err
}

// Window waits until a window whose name matches the regular expression
// title is mapped and has drawn something (at least three colours), and
// returns its id.
func (s *Server) Window(ctx context.Context, title string) (string, error) {
	var last error
	for {
		out, err := s.Output(ctx, "xdotool", "search", "--onlyvisible", "--name", title)
		if f := strings.Fields(out); err == nil && len(f) > 0 {
			img, err := s.Capture(ctx, f[0])
			if err == nil && Colours(img, 2) >= 2 {
				return f[0], nil
			}
			last = err
			if err == nil {
				last = errors.New("the window is mapped but has drawn nothing yet")
			}
		} else {
			last = err
		}
		if err := pause(ctx); err != nil {
			return "", fmt.Errorf("no drawn window %q: %v", title, last)
		}
	}
}

// Focus gives win the keyboard. There is no window manager on the
// server, so focus is set directly, and --sync waits until it has moved.
func (s *Server) Focus(ctx context.Context, win string) error {
	_, err := s.Output(ctx, "xdotool", "windowfocus", "--sync", win)
	return err
}

// Key presses keys (xdotool's names, e.g. "ctrl+shift+s") once, on
// whatever window has the keyboard focus.
func (s *Server) Key(ctx context.Context, keys string) error {
	_, err := s.Output(ctx, "xdotool", "key", "--clearmodifiers", keys)
	return err
}

// WaitChange waits until at least part (0..1) of window win's pixels
// differ from before: a dialog opened over it, say. A blinking cursor or
// a moving countdown changes far less than a dialog does.
func (s *Server) WaitChange(ctx context.Context, win string, before image.Image, part float64) error {
	var got float64
	for {
		img, err := s.Capture(ctx, win)
		if err == nil {
			if got = Diff(before, img); got >= part {
				return nil
			}
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("the window changed in %.1f%% of its pixels, want %.0f%%", 100*got, 100*part)
		}
	}
}

// Colours counts the distinct colours of img, up to max.
func Colours(img image.Image, max int) int {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			if seen[[4]uint32{cr, cg, cb, ca}] = true; len(seen) >= max {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// Diff is the part of pixels that differ between a and b (1 when their
// sizes differ).
func Diff(a, b image.Image) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 1
	}
	ra, rb := a.Bounds(), b.Bounds()
	n, all := 0, 0
	for y := 0; y < ra.Dy(); y++ {
		for x := 0; x < ra.Dx(); x++ {
			all++
			if a.At(ra.Min.X+x, ra.Min.Y+y) != b.At(rb.Min.X+x, rb.Min.Y+y) {
				n++
			}
		}
	}
	if all == 0 {
		return 0
	}
	return float64(n) / float64(all)
}

// pause waits a moment between two looks at a real program, or fails
// when ctx is done.
func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}

// WriteImage saves img as a PNG file.
func WriteImage(file string, img image.Image) error {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return err
	}
	return os.WriteFile(file, b.Bytes(), 0o644)
}

// Grabber reads a window's pixels straight from the X server (GetImage),
// fast enough to watch a window change frame by frame, where starting a
// screenshot program each time would take longer than a frame.
type Grabber struct {
	c *xgb.Conn
}

// Grabber connects to the server for Grab.
func (s *Server) Grabber() (*Grabber, error) {
	c, err := xgb.NewConnDisplay(s.Display)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", s.Display, err)
	}
	return &Grabber{c: c}, nil
}

// Close ends the connection.
func (g *Grabber) Close() { g.c.Close() }

// Grab returns rectangle r of window win (an id as xdotool prints it) on
// a 24-bit screen.
func (g *Grabber) Grab(win string, r image.Rectangle) (*image.RGBA, error) {
	id, err := strconv.ParseUint(win, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("window id %q: %w", win, err)
	}
	reply, err := xproto.GetImage(g.c, xproto.ImageFormatZPixmap, xproto.Drawable(id),
		int16(r.Min.X), int16(r.Min.Y), uint16(r.Dx()), uint16(r.Dy()), 0xffffffff).Reply()
	if err != nil {
		return nil, err
	}
	if len(reply.Data) < 4*r.Dx()*r.Dy() {
		return nil, fmt.Errorf("GetImage: %d bytes for %v (not a 24-bit screen?)", len(reply.Data), r)
	}
	img := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for i := 0; i < r.Dx()*r.Dy(); i++ { // BGRx, little-endian
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = reply.Data[4*i+2], reply.Data[4*i+1], reply.Data[4*i], 0xff
	}
	return img, nil
}
