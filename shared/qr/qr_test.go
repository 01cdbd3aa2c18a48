package qr

import (
	"io"

	"bytes"
	"encoding/binary"
	"errors"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

const portalURI = "otpauth://totp/Twofold%20Portal:joe?algorithm=SHA1&digits=6&issuer=Twofold%20Portal&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func tool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install the Debian package %s (make deps does)", name, pkg)
	}
	return p
}

// qrencode draws text with the reference C encoder (Debian qrencode):
// module size px, quiet zone margin modules.
func qrencode(t testing.TB, text string, px, margin int) image.Image {
	t.Helper()
	cmd := exec.Command(tool(t, "qrencode", "qrencode"), "-o", "-", "-t", "PNG", "-s", itoa(px), "-m", itoa(margin), text)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("qrencode: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func itoa(n int) string { return strconv.Itoa(n) }

func encode(t testing.TB, img image.Image, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeQrencodeImages(t *testing.T) {
	texts := []string{
		portalURI,
		"otpauth-migration://offline?data=CjMKCkhlbGxvId6tvu8SGFRlc3QxOnRlc3QxQGV4YW1wbGUxLmNvbRoFVGVzdDEgASgBMAI%3D",
		"otpauth://totp/%C3%9Cml%C3%A4ut:j%C3%B6?secret=JBSWY3DPEHPK3PXP",
		"plain text, not a key",
	}
	for _, text := range texts {
		img := qrencode(t, text, 4, 4)
		for _, format := range []string{"png", "jpeg", "gif"} {
			got, err := DecodeBytes(encode(t, img, format))
			if err != nil {
				t.Fatalf("%s of %q: %v", format, text, err)
			}
			if !reflect.DeepEqual(got, []string{text}) {
				t.Errorf("%s: got %q, want %q", format, got, text)
			}
		}
	}
}

// screenshot paints a 3840×2160 desktop-like picture (title bars, text-like
// strokes, a photo-like gradient) and puts each QR image at its point.
func screenshot(tb testing.TB, codes map[image.Point]image.Image) *image.RGBA {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3840, 2160))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{0xee, 0xee, 0xf2, 0xff}}, image.Point{}, draw.Src)
	r := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < 700; y++ { // a gradient "wallpaper" block
		for x := 0; x < 1400; x++ {
			img.SetRGBA(2300+x, 1300+y, color.RGBA{uint8(x / 6), uint8(y / 3), uint8((x + y) / 9), 0xff})
		}
	}
	for i := 0; i < 6; i++ { // windows with title bars
		win := image.Rect(r.IntN(3000), r.IntN(1600), 0, 0)
		win.Max = win.Min.Add(image.Pt(600+r.IntN(800), 400+r.IntN(500)))
		draw.Draw(img, win, image.White, image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(win.Min.X, win.Min.Y, win.Max.X, win.Min.Y+36), &image.Uniform{color.RGBA{0x33, 0x44, 0x66, 0xff}}, image.Point{}, draw.Src)
	}
	for i := 0; i < 4000; i++ { // "text": short dark strokes
		p := image.Pt(r.IntN(3800), r.IntN(2140))
		draw.Draw(img, image.Rect(p.X, p.Y, p.X+2+r.IntN(9), p.Y+12), image.Black, image.Point{}, draw.Src)
	}
	for at, code := range codes {
		b := code.Bounds()
		draw.Draw(img, b.Sub(b.Min).Add(at), code, b.Min, draw.Src)
	}
	return img
}

func TestDecode4KScreenshotSmallCode(t *testing.T) {
	code := qrencode(t, portalURI, 4, 4) // about 200 px, as a browser shows it
	if w := code.Bounds().Dx(); w < 150 || w > 260 {
		t.Fatalf("test code is %d px, want about 200", w)
	}
	for _, at := range []image.Point{{1700, 900}, {40, 60}, {3600, 1900}} {
		img := screenshot(t, map[image.Point]image.Image{at: code})
		got, err := Decode(img)
		if err != nil || !reflect.DeepEqual(got, []string{portalURI}) {
			t.Errorf("code at %v: %q, %v", at, got, err)
		}
	}
}

func TestDecodeTwoCodesInOneImage(t *testing.T) {
	a := qrencode(t, "otpauth://totp/A:one?secret=JBSWY3DPEHPK3PXP", 5, 4)
	b := qrencode(t, "otpauth://totp/B:two?secret=JBSWY3DPEHPK3PXQ", 5, 4)
	img := image.NewRGBA(image.Rect(0, 0, 900, 400))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, a.Bounds().Add(image.Pt(20, 40)), a, image.Point{}, draw.Src)
	draw.Draw(img, b.Bounds().Add(image.Pt(500, 60)), b, image.Point{}, draw.Src)
	got, err := Decode(img)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"otpauth://totp/A:one?secret=JBSWY3DPEHPK3PXP": true, "otpauth://totp/B:two?secret=JBSWY3DPEHPK3PXQ": true}
	if len(got) != 2 || !want[got[0]] || !want[got[1]] {
		t.Errorf("got %q, want both codes", got)
	}
}

func TestDecodeLightOnDark(t *testing.T) {
	src := qrencode(t, portalURI, 4, 4)
	inv := image.NewGray(src.Bounds())
	for y := src.Bounds().Min.Y; y < src.Bounds().Max.Y; y++ {
		for x := src.Bounds().Min.X; x < src.Bounds().Max.X; x++ {
			inv.Set(x, y, color.Gray{255 - color.GrayModel.Convert(src.At(x, y)).(color.Gray).Y})
		}
	}
	got, err := Decode(inv)
	if err != nil || !reflect.DeepEqual(got, []string{portalURI}) {
		t.Errorf("inverted code: %q, %v", got, err)
	}
}

func TestDecodeNothing(t *testing.T) {
	noise := image.NewGray(image.Rect(0, 0, 640, 480))
	r := rand.New(rand.NewPCG(3, 4))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(r.UintN(256))
	}
	for name, img := range map[string]image.Image{
		"white":  image.NewUniform(color.White),
		"blank":  image.NewRGBA(image.Rect(0, 0, 800, 600)),
		"1x1":    image.NewGray(image.Rect(0, 0, 1, 1)),
		"empty":  image.NewGray(image.Rect(0, 0, 0, 0)),
		"noise":  noise,
		"offset": image.NewNRGBA(image.Rect(-50, -50, 50, 50)),
	} {
		if name == "white" {
			img = image.NewGray(image.Rect(0, 0, 300, 300))
			draw.Draw(img.(*image.Gray), img.Bounds(), image.White, image.Point{}, draw.Src)
		}
		got, err := Decode(img)
		if !errors.Is(err, ErrNotFound) || got != nil {
			t.Errorf("%s: %q, %v; want %v", name, got, err, ErrNotFound)
		}
		if err != nil && err.Error() != "no QR code found" {
			t.Errorf("message %q", err)
		}
	}
}

func TestDecodeBytesRefuses(t *testing.T) {
	if _, err := DecodeBytes([]byte("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP")); !errors.Is(err, ErrNotImage) {
		t.Errorf("text: %v", err)
	}
	if _, err := DecodeBytes(nil); !errors.Is(err, ErrNotImage) {
		t.Errorf("nothing: %v", err)
	}
	// A PNG header claiming 100000×100000 pixels must not be allocated.
	huge := encode(t, image.NewGray(image.Rect(0, 0, 1, 1)), "png")
	copy(huge[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	binary.BigEndian.PutUint32(huge[29:33], crc32.ChecksumIEEE(huge[12:29]))
	if _, err := DecodeBytes(huge); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("huge: %v", err)
	}
	// A truncated PNG with a valid header.
	good := encode(t, qrencode(t, portalURI, 4, 4), "png")
	if _, err := DecodeBytes(good[:len(good)/2]); err == nil {
		t.Error("truncated PNG decoded")
	}
}

// zbarimg (Debian zbar-tools), a decoder we did not write, must read what we draw.
func TestPNGReadByZbar(t *testing.T) {
	zbar := tool(t, "zbarimg", "zbar-tools")
	for _, text := range []string{portalURI, "otpauth-migration://offline?data=CjMKCkhlbGxvId6tvu8SGFRlc3QxOnRlc3QxQGV4YW1wbGUxLmNvbRoFVGVzdDEgASgBMAI%3D"} {
		b, err := PNG(text, 256)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "code.png")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbar, "--nodbus", "-q", "--raw", f).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != text {
			t.Errorf("zbarimg read %q, want %q", got, text)
		}
		img, _ := png.Decode(bytes.NewReader(b))
		if img.Bounds().Dx() < 256 {
			t.Errorf("image %d px, asked for at least 256", img.Bounds().Dx())
		}
		// The quiet zone: the outer 4 modules are white.
		if g := color.GrayModel.Convert(img.At(3, 3)).(color.Gray); g.Y != 255 {
			t.Error("no quiet zone")
		}
	}
	if _, err := PNG("", 100); err == nil {
		t.Error("empty text drew a code")
	}
}

func FuzzDecodeBytes(f *testing.F) {
	seed, err := PNG("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP", 64)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("GIF89a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		texts, err := DecodeBytes(b)
		if err == nil && len(texts) == 0 {
			t.Fatal("no error and no text")
		}
	})
}

func benchScreenshot(b *testing.B) *image.RGBA {
	return screenshot(b, map[image.Point]image.Image{{2511, 1377}: qrencode(b, portalURI, 4, 4)})
}

func BenchmarkDecode4K(b *testing.B) {
	img := benchScreenshot(b)
	for b.Loop() {
		if _, err := Decode(img); err != nil {
			b.Fatal(err)
		}
	}
}

// The baseline: gozxing's plain path, per-pixel At and TRY_HARDER.
func BenchmarkDecode4KGozxingPlain(b *testing.B) {
	img := benchScreenshot(b)
	for b.Loop() {
		src := gozxing.NewLuminanceSourceFromImage(img)
		bmp, _ := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
		if _, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// Formats other than PNG, JPEG and GIF are refused, even when a decoder for
// them is linked in (as Fyne links BMP and TIFF into the desktop app).
func TestOnlyNamedFormats(t *testing.T) {
	img := qrencode(t, portalURI, 4, 4)
	for name, enc := range map[string]func(io.Writer, image.Image) error{
		"bmp":  bmp.Encode,
		"tiff": func(w io.Writer, m image.Image) error { return tiff.Encode(w, m, nil) },
	} {
		var buf bytes.Buffer
		if err := enc(&buf, img); err != nil {
			t.Fatal(err)
		}
		if _, _, err := image.Decode(bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatalf("%s: the test's own decoder is not linked: %v", name, err)
		}
		if got, err := DecodeBytes(buf.Bytes()); !errors.Is(err, ErrNotImage) {
			t.Errorf("%s: %q, %v; want ErrNotImage", name, got, err)
		}
	}
}
