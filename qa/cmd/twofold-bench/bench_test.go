package main

import (
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"twofold.dev/shared/qr"
)

// The benchmark images must hold what the figures claim: the 4K
// screenshot the portal's code, the photo the migration code.
func TestImagesHoldTheirCodes(t *testing.T) {
	dir := t.TempDir()
	shot, photo := filepath.Join(dir, "shot.png"), filepath.Join(dir, "photo.jpg")
	if err := writeScreenshot(shot); err != nil {
		t.Fatal(err)
	}
	text, err := writePhoto(photo)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{shot: screenshotText, photo: text} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := qr.DecodeBytes(data)
		if err != nil || !reflect.DeepEqual(got, []string{want}) {
			t.Errorf("%s: %q, %v", filepath.Base(file), got, err)
		}
	}
}

func TestHomographyMapsCorners(t *testing.T) {
	src := [4][2]float64{{0, 0}, {100, 0}, {100, 50}, {0, 50}}
	dst := [4][2]float64{{10, 20}, {130, 25}, {140, 90}, {5, 80}}
	h := homography(src, dst)
	inv := invert3(h)
	for i, p := range src {
		x, y := p[0], p[1]
		z := h[6]*x + h[7]*y + h[8]
		u, v := (h[0]*x+h[1]*y+h[2])/z, (h[3]*x+h[4]*y+h[5])/z
		if math.Abs(u-dst[i][0]) > 1e-6 || math.Abs(v-dst[i][1]) > 1e-6 {
			t.Errorf("corner %d maps to %.3f,%.3f, want %v", i, u, v, dst[i])
		}
		z = inv[6]*u + inv[7]*v + inv[8]
		if bx := (inv[0]*u + inv[1]*v + inv[2]) / z; math.Abs(bx-x) > 1e-6 {
			t.Errorf("inverse of corner %d: x %.3f, want %v", i, bx, x)
		}
	}
}

func TestStatistics(t *testing.T) {
	if m := median([]float64{5, 1, 3}); m != 3 {
		t.Errorf("median odd = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median even = %v", m)
	}
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(100-i) * time.Millisecond
	}
	if p := percentile(d, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	f := &Figure{Value: 3, BaseValue: 10, Target: 0.33, AtMost: true}
	if !f.Met() || f.Ratio() != 0.3 {
		t.Errorf("0.3 against ≤ 0.33: met %v", f.Met())
	}
	f = &Figure{Value: 2, BaseValue: 10, Target: 0.25}
	if f.Met() {
		t.Error("0.2 against ≥ 0.25 met")
	}
}

func TestBenchLineParses(t *testing.T) {
	m := benchLine.FindStringSubmatch("BenchmarkVerify-2        	 2424271	       479.2 ns/op	       0 B/op	       0 allocs/op")
	if m == nil || m[2] != "479.2" || m[4] != "0" {
		t.Errorf("parsed %q", m)
	}
}

// The first-code watch tells digits from the placeholder dash.
func TestDigitsPainted(t *testing.T) {
	area := func(ink func(x, y int) bool) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, codeArea.Dx(), codeArea.Dy()))
		for y := 0; y < img.Bounds().Dy(); y++ {
			for x := 0; x < img.Bounds().Dx(); x++ {
				c := color.RGBA{0x1e, 0x1e, 0x22, 0xff} // dark theme background
				if ink(x, y) {
					c = color.RGBA{0xf0, 0xf0, 0xf0, 0xff}
				}
				img.SetRGBA(x, y, c)
			}
		}
		return img
	}
	dash := area(func(x, y int) bool { return y >= 14 && y <= 15 && x%16 < 10 })
	digits := area(func(x, y int) bool { return y >= 5 && y <= 25 && x%16 < 2 || (y == 5 || y == 25) && x%16 < 10 })
	blank := area(func(x, y int) bool { return false })
	if digitsPainted(dash) || digitsPainted(blank) {
		t.Error("the placeholder dash or an empty area read as a code")
	}
	if !digitsPainted(digits) {
		t.Error("digits 20 px tall not seen")
	}
}
