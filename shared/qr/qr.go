// Package qr finds and reads every QR code in an image, and draws QR codes
// as PNG. Reading is done by github.com/makiuchi-d/gozxing.
package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif" // decoders for the formats users save QR codes in
	_ "image/jpeg"
	"image/png"
	"runtime"
	"sync"

	"github.com/makiuchi-d/gozxing"
	multiqr "github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// ErrNotFound is returned when an image holds no readable QR code.
var ErrNotFound = errors.New("no QR code found")

// ErrNotImage is returned for bytes that are not a PNG, JPEG or GIF image.
var ErrNotImage = errors.New("not a PNG, JPEG or GIF image")

// MaxPixels bounds the images DecodeBytes accepts, so a crafted header
// cannot make it allocate gigabytes. 8K × 8K is more than any screen.
const MaxPixels = 8192 * 8192

// DecodeBytes reads every QR code in a PNG, JPEG or GIF image.
func DecodeBytes(data []byte) ([]string, error) {
	// Most images are PNG screenshots: straight to grey (see png.go).
	if g, ok, err := decodePNGGray(data); ok {
		if errors.Is(err, errPNG) {
			return nil, fmt.Errorf("reading image: %w", err)
		} else if err != nil {
			return nil, err
		}
		return Decode(g)
	}
	// Only the formats named: which others image.Decode knows depends on
	// what else the program links (Fyne brings BMP and TIFF decoders).
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "png" && format != "jpeg" && format != "gif") {
		return nil, ErrNotImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels {
		return nil, fmt.Errorf("image is %d×%d pixels, too large to scan", cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading image: %w", err)
	}
	return Decode(img)
}

// Decode returns the text of every QR code in img, in the order found,
// without duplicates. It returns ErrNotFound when there is none.
func Decode(img image.Image) (texts []string, err error) {
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, ErrNotFound
	}
	// gozxing is a port that panics on some malformed inputs; an image from
	// a user or a screen must never crash the caller.
	defer func() {
		if r := recover(); r != nil {
			texts, err = nil, ErrNotFound
		}
	}()
	gray := toGray(img)
	src, err := gozxing.NewPlanarYUVLuminanceSource(gray.Pix, gray.Stride, gray.Rect.Dy(), 0, 0, gray.Rect.Dx(), gray.Rect.Dy(), false)
	if err != nil {
		return nil, fmt.Errorf("preparing image: %w", err)
	}
	for _, s := range []gozxing.LuminanceSource{src, gozxing.LuminanceSourceInvert(src)} {
		if texts := scan(s); len(texts) > 0 {
			return texts, nil
		}
	}
	return nil, ErrNotFound
}

var hints = map[gozxing.DecodeHintType]any{
	gozxing.DecodeHintType_TRY_HARDER: true,
}

// scan tries the multi-code reader, then the single-code one, which finds a
// lone code in some images where the multi detector gives up.
func scan(src gozxing.LuminanceSource) []string {
	bmp, err := gozxing.NewBinaryBitmap(newHybridBinarizer(src))
	if err != nil {
		return nil
	}
	var texts []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			texts = append(texts, s)
		}
	}
	if results, err := multiqr.NewQRCodeMultiReader().DecodeMultiple(bmp, hints); err == nil {
		for _, r := range results {
			add(r.GetText())
		}
	}
	if len(texts) == 0 {
		if r, err := qrcode.NewQRCodeReader().Decode(bmp, hints); err == nil {
			add(r.GetText())
		}
	}
	return texts
}

// toGray converts once to 8-bit grey, reading pixel buffers directly for the
// formats screenshots and decoders produce instead of calling At per pixel.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.Gray:
		if m.Stride == b.Dx() && m.Rect.Min == (image.Point{}) {
			return m
		}
	case *image.YCbCr:
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			off := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], m.Y[off:off+b.Dx()])
		}
		return g
	case *image.RGBA:
		return rgbaToGray(m.Pix, m.Stride, b, m.Rect.Min)
	case *image.NRGBA:
		// Transparent pixels count as their colour; QR images are opaque.
		return rgbaToGray(m.Pix, m.Stride, b, m.Rect.Min)
	}
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Rect, img, b.Min, draw.Src)
	return g
}

func rgbaToGray(pix []byte, stride int, b image.Rectangle, min image.Point) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	w := b.Dx()
	// Rows are independent: split them over the cores. A 4K screenshot is
	// 8 million pixels, and this is a third of the decode without it.
	parallelRows(b.Dy(), func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			src := pix[(b.Min.Y-min.Y+y)*stride+(b.Min.X-min.X)*4:]
			src = src[:w*4]
			out := g.Pix[y*g.Stride : y*g.Stride+w]
			for x := range out {
				r, gg, bb := uint32(src[4*x]), uint32(src[4*x+1]), uint32(src[4*x+2])
				// ITU-R BT.601 luma in integers, as image/color does.
				out[x] = uint8((19595*r + 38470*gg + 7471*bb + 1<<15) >> 16)
			}
		}
	})
	return g
}

func parallelRows(rows int, fn func(y0, y1 int)) {
	n := runtime.GOMAXPROCS(0)
	if n == 1 || rows < 64 {
		fn(0, rows)
		return
	}
	var wg sync.WaitGroup
	per := (rows + n - 1) / n
	for y := 0; y < rows; y += per {
		wg.Add(1)
		go func(y0, y1 int) {
			defer wg.Done()
			fn(y0, y1)
		}(y, min(y+per, rows))
	}
	wg.Wait()
}

// Image draws text as a QR code of at least size×size pixels with the
// four-module quiet zone readers need, at error correction level M.
func Image(text string, size int) (image.Image, error) {
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, size, size,
		map[gozxing.EncodeHintType]any{
			gozxing.EncodeHintType_ERROR_CORRECTION: decoder.ErrorCorrectionLevel_M,
			gozxing.EncodeHintType_MARGIN:           4,
		})
	if err != nil {
		return nil, fmt.Errorf("drawing QR code: %w", err)
	}
	w, h := m.GetWidth(), m.GetHeight()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if !m.Get(x, y) {
				img.Pix[y*img.Stride+x] = 0xff
			}
		}
	}
	return img, nil
}

// PNG draws text as a QR code (see Image) and encodes it as PNG.
func PNG(text string, size int) ([]byte, error) {
	img, err := Image(text, size)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}
