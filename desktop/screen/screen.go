// Package screen captures every display, for scanning QR codes off the
// screen, with github.com/kbinani/screenshot (X11 directly; the desktop
// portal under Wayland, which may refuse).
package screen

import (
	"errors"
	"fmt"
	"image"

	"github.com/kbinani/screenshot"
)

// ErrUnavailable means the screen cannot be captured here; the error text
// says why and what to do instead.
var ErrUnavailable = errors.New("cannot capture the screen")

// instead is the advice every capture error ends with.
const instead = "save the QR code as an image and use Open image…, copy it and use Paste, or enter the key manually"

// Capture returns one image per active display.
func Capture() ([]image.Image, error) {
	quietX11()
	n := screenshot.NumActiveDisplays()
	if n == 0 {
		return nil, fmt.Errorf("%w: %s; %s", ErrUnavailable, noDisplay(), instead)
	}
	imgs := make([]image.Image, 0, n)
	for i := range n {
		img, err := screenshot.CaptureDisplay(i)
		if err != nil {
			return nil, fmt.Errorf("%w (display %d: %v); %s", ErrUnavailable, i+1, err, instead)
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}
