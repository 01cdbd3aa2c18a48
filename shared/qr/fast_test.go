package qr

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// pngChunk appends one chunk with its CRC.
func pngChunk(out []byte, typ string, body []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, body...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// encodePNG is an encoder of our own that uses filter (y+shift)%5 on row
// y, so every filter meets every kind of row; image/png's decoder is the
// oracle for what the bytes mean.
func encodePNG(t testing.TB, pix []byte, w, h, bpp int, colorType byte, shift int) []byte {
	t.Helper()
	var raw bytes.Buffer
	prev := make([]byte, w*bpp)
	for y := 0; y < h; y++ {
		row := pix[y*w*bpp : (y+1)*w*bpp]
		f := byte((y + shift) % 5)
		raw.WriteByte(f)
		for i := range row {
			var a, b, c int
			if i >= bpp {
				a, c = int(row[i-bpp]), int(prev[i-bpp])
			}
			b = int(prev[i])
			var pred int
			switch f {
			case 1:
				pred = a
			case 2:
				pred = b
			case 3:
				pred = (a + b) / 2
			case 4:
				p := a + b - c
				pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
				switch {
				case pa <= pb && pa <= pc:
					pred = a
				case pb <= pc:
					pred = b
				default:
					pred = c
				}
			}
			raw.WriteByte(byte(int(row[i]) - pred))
		}
		prev = row
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, colorType, 0, 0, 0)
	out := append([]byte{}, pngSignature...)
	out = pngChunk(out, "IHDR", ihdr)
	zb := z.Bytes()
	half := len(zb) / 2 // two IDAT chunks, as big images have
	out = pngChunk(out, "tEXt", []byte("Comment\x00ignored"))
	out = pngChunk(out, "IDAT", zb[:half])
	out = pngChunk(out, "IDAT", zb[half:])
	return pngChunk(out, "IEND", nil)
}

func TestDecodePNGGrayMatchesImagePNG(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, ct := range []struct {
		colorType byte
		bpp       int
	}{{0, 1}, {2, 3}, {4, 2}, {6, 4}} {
		for _, size := range []image.Point{{1, 1}, {1, 7}, {7, 1}, {33, 21}, {200, 170}} {
			pix := make([]byte, size.X*size.Y*ct.bpp)
			for i := range pix { // gradients and noise, so every filter has work
				pix[i] = byte(i*7/ct.bpp + r.IntN(24))
			}
			for shift := 0; shift < 5; shift++ {
				data := encodePNG(t, pix, size.X, size.Y, ct.bpp, ct.colorType, shift)
				got, ok, err := decodePNGGray(data)
				if !ok || err != nil {
					t.Fatalf("type %d %v: ok %v, %v", ct.colorType, size, ok, err)
				}
				ref, err := png.Decode(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("image/png: %v", err)
				}
				if want := toGray(ref); !reflect.DeepEqual(got.Pix, want.Pix) || got.Rect != want.Rect {
					t.Fatalf("type %d %v shift %d: grey differs from image/png's", ct.colorType, size, shift)
				}
			}
		}
	}
}

// What image/png writes itself (its own filter choice, RGBA and grey).
func TestDecodePNGGrayReadsImagePNG(t *testing.T) {
	img := screenshot(t, nil)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img.SubImage(image.Rect(1000, 800, 2200, 1700))); err != nil {
		t.Fatal(err)
	}
	got, ok, err := decodePNGGray(buf.Bytes())
	if !ok || err != nil {
		t.Fatalf("ok %v, %v", ok, err)
	}
	ref, _ := png.Decode(bytes.NewReader(buf.Bytes()))
	if !reflect.DeepEqual(got.Pix, toGray(ref).Pix) {
		t.Error("grey differs from image/png's")
	}
}

func TestDecodePNGGrayFallsBackOrRefuses(t *testing.T) {
	// Palette, 16-bit: not handled here, so image.Decode reads them.
	pal := image.NewPaletted(image.Rect(0, 0, 10, 10), color.Palette{color.Black, color.White})
	g16 := image.NewGray16(image.Rect(0, 0, 10, 10))
	for name, img := range map[string]image.Image{"palette": pal, "16-bit": g16} {
		var buf bytes.Buffer
		png.Encode(&buf, img)
		if _, ok, err := decodePNGGray(buf.Bytes()); ok || err != nil {
			t.Errorf("%s: ok %v, %v; want a fall-back", name, ok, err)
		}
	}
	if _, ok, _ := decodePNGGray([]byte("GIF89a")); ok {
		t.Error("a GIF taken for a PNG")
	}
	// And DecodeBytes still reads a palette PNG of a code.
	code := qrencode(t, portalURI, 4, 4)
	p := image.NewPaletted(code.Bounds(), color.Palette{color.Black, color.White})
	for y := code.Bounds().Min.Y; y < code.Bounds().Max.Y; y++ {
		for x := code.Bounds().Min.X; x < code.Bounds().Max.X; x++ {
			p.Set(x, y, code.At(x, y))
		}
	}
	if got, err := DecodeBytes(encode(t, p, "png")); err != nil || !reflect.DeepEqual(got, []string{portalURI}) {
		t.Errorf("palette PNG: %q, %v", got, err)
	}

	good := encodePNG(t, make([]byte, 40*40*3), 40, 40, 3, 2, 0)
	for name, bad := range map[string][]byte{
		"truncated":     good[:len(good)-30],
		"bad crc":       append(append([]byte{}, good[:40]...), append([]byte{good[40] ^ 1}, good[41:]...)...),
		"bad filter":    badFilter(t),
		"no ihdr":       pngChunk(append([]byte{}, pngSignature...), "IEND", nil),
		"too many rows": tallerThanData(t),
	} {
		if _, ok, err := decodePNGGray(bad); !ok || !errors.Is(err, errPNG) {
			t.Errorf("%s: ok %v, %v; want %v", name, ok, err, errPNG)
		}
		if _, err := DecodeBytes(bad); err == nil {
			t.Errorf("%s: DecodeBytes accepted it", name)
		}
	}
}

func badFilter(t *testing.T) []byte {
	data := encodePNG(t, make([]byte, 8*8), 8, 8, 1, 0, 0)
	// Rebuild the image data with filter byte 9 on the first row.
	var raw bytes.Buffer
	for y := 0; y < 8; y++ {
		raw.WriteByte(byte(9 * (1 - min(y, 1))))
		raw.Write(make([]byte, 8))
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	out := append([]byte{}, data[:8+25]...) // signature and IHDR
	out = pngChunk(out, "IDAT", z.Bytes())
	return pngChunk(out, "IEND", nil)
}

// tallerThanData claims 50 rows and holds 40.
func tallerThanData(t *testing.T) []byte {
	data := encodePNG(t, make([]byte, 40*40*3), 40, 40, 3, 2, 0)
	binary.BigEndian.PutUint32(data[8+8+4:], 50)
	binary.BigEndian.PutUint32(data[8+8+13:], crc32.ChecksumIEEE(data[8+4:8+8+13]))
	return data
}

func TestBinarizerMatchesGozxing(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	noise := func(w, h int) *image.Gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = uint8(r.IntN(256))
		}
		return g
	}
	flat := func(w, h int) *image.Gray { // low-contrast areas and edges
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.Pix[y*w+x] = uint8(100 + 10*((x/37+y/23)%3) + r.IntN(8))
			}
		}
		return g
	}
	images := map[string]*image.Gray{
		"screenshot":    toGray(screenshot(t, map[image.Point]image.Image{{1200, 700}: qrencode(t, portalURI, 4, 4)})),
		"noise 333×517": noise(333, 517),
		"flat 1021×37":  flat(1021, 37),
		"flat 40×40":    flat(40, 40),
		"small 39×100":  noise(39, 100),
		"code":          toGray(qrencode(t, portalURI, 3, 2)),
	}
	for name, g := range images {
		src, err := gozxing.NewPlanarYUVLuminanceSource(g.Pix, g.Stride, g.Rect.Dy(), 0, 0, g.Rect.Dx(), g.Rect.Dy(), false)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []gozxing.LuminanceSource{src, gozxing.LuminanceSourceInvert(src)} {
			want, errWant := gozxing.NewHybridBinarizer(s).GetBlackMatrix()
			got, errGot := newHybridBinarizer(s).GetBlackMatrix()
			if (errWant == nil) != (errGot == nil) {
				t.Fatalf("%s: errors %v and %v", name, errWant, errGot)
			}
			if errWant == nil && want.String() != got.String() {
				t.Errorf("%s: black matrix differs from gozxing's", name)
			}
		}
	}
}

func benchScreenshotPNG(b *testing.B) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, benchScreenshot(b)); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeBytes4KPNG is what `twofold decode shot.png` does after
// reading the file; compare it with BenchmarkImagePNG4K, image/png alone.
func BenchmarkDecodeBytes4KPNG(b *testing.B) {
	data := benchScreenshotPNG(b)
	for b.Loop() {
		if _, err := DecodeBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkImagePNG4K(b *testing.B) {
	data := benchScreenshotPNG(b)
	for b.Loop() {
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// What opening a 4K screenshot would cost with the standard library's PNG
// decoder and our binarizer (compare with BenchmarkDecodeBytes4KPNG, which
// uses the PNG fork, and BenchmarkOpen4KStdlibGozxing).
func BenchmarkOpen4KStdlibPNG(b *testing.B) {
	data := benchScreenshotPNG(b)
	for b.Loop() {
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(img); err != nil {
			b.Fatal(err)
		}
	}
}

// The same with neither fork nor binarizer: image/png, then gozxing's own
// luminance source, hybrid binarizer and TRY_HARDER.
func BenchmarkOpen4KStdlibGozxing(b *testing.B) {
	data := benchScreenshotPNG(b)
	for b.Loop() {
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		src := gozxing.NewLuminanceSourceFromImage(img)
		bmp, _ := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
		if _, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}); err != nil {
			b.Fatal(err)
		}
	}
}
