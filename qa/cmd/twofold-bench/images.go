package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"

	"twofold.dev/shared/migration"
	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

// The texts the benchmark images hold.
const screenshotText = "otpauth://totp/Twofold%20Portal:joe?algorithm=SHA1&digits=6&issuer=Twofold%20Portal&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// writeScreenshot writes a 3840×2160 PNG of a desktop — wallpaper,
// windows with title bars, text-like strokes, a photo — with one ~200 px
// QR code at (2511, 1377), the size a browser shows the portal's code.
func writeScreenshot(path string) error {
	img := image.NewRGBA(image.Rect(0, 0, 3840, 2160))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{0x2e, 0x34, 0x40, 0xff}}, image.Point{}, draw.Src)
	r := rand.New(rand.NewPCG(7, 7))
	for y := 0; y < 2160; y++ { // wallpaper gradient
		for x := 0; x < 3840; x += 4 {
			c := color.RGBA{uint8(40 + x/64), uint8(50 + y/40), uint8(90 + (x+y)/80), 0xff}
			for i := 0; i < 4; i++ {
				img.SetRGBA(x+i, y, c)
			}
		}
	}
	for i := 0; i < 7; i++ { // windows with title bars and text
		win := image.Rect(r.IntN(3000), r.IntN(1500), 0, 0)
		win.Max = win.Min.Add(image.Pt(700+r.IntN(1100), 450+r.IntN(600)))
		draw.Draw(img, win, image.White, image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(win.Min.X, win.Min.Y, win.Max.X, win.Min.Y+40), &image.Uniform{color.RGBA{0x33, 0x44, 0x66, 0xff}}, image.Point{}, draw.Src)
		for ly := win.Min.Y + 60; ly < win.Max.Y-20 && ly < 2150; ly += 26 {
			for lx := win.Min.X + 20; lx < win.Max.X-30 && lx < 3830; {
				w := 3 + r.IntN(9) // a glyph, grey edges as anti-aliasing makes
				grey := uint8(r.IntN(90))
				draw.Draw(img, image.Rect(lx, ly, lx+w, ly+14), &image.Uniform{color.RGBA{grey, grey, grey, 0xff}}, image.Point{}, draw.Src)
				lx += w + 2 + r.IntN(3)
				if r.IntN(7) == 0 {
					lx += 10 // a space
				}
			}
		}
	}
	photo := image.Rect(300, 1300, 1500, 2050) // a photo: texture and noise
	for y := photo.Min.Y; y < photo.Max.Y; y++ {
		for x := photo.Min.X; x < photo.Max.X; x++ {
			v := 128 + 60*math.Sin(float64(x)/37)*math.Cos(float64(y)/23)
			n := r.IntN(40)
			img.SetRGBA(x, y, color.RGBA{uint8(v) / 2, uint8(int(v)*3/4 + n), uint8(200 - n), 0xff})
		}
	}
	code, err := qr.Image(screenshotText, 200)
	if err != nil {
		return err
	}
	at := image.Pt(2511, 1377)
	draw.Draw(img, code.Bounds().Add(at), image.White, image.Point{}, draw.Src)
	draw.Draw(img, code.Bounds().Add(at), code, image.Point{}, draw.Src)
	return writePNG(path, img)
}

// photoKeys are the accounts of the synthetic Google Authenticator export.
func photoKeys() []*totp.Key {
	var keys []*totp.Key
	for i, issuer := range []string{"Example", "GitHub", "Twofold Portal", "Mail", "Bank", "Cloud"} {
		keys = append(keys, &totp.Key{Type: totp.TOTP, Issuer: issuer, Account: fmt.Sprintf("joe%d@example.com", i),
			Secret: []byte(fmt.Sprintf("secret-of-account-%02d", i)), Algorithm: totp.SHA1, Digits: 6, Period: 30})
	}
	return keys
}

// writePhoto writes a 2000×1500 JPEG that looks like a phone's camera
// photo of a Google Authenticator "Transfer accounts" screen: the code
// seen at an angle (perspective), out of focus (blur), in uneven light,
// with sensor noise. It returns the text of the code.
func writePhoto(path string) (string, error) {
	uris, err := migration.Encode(photoKeys(), 1, 10)
	if err != nil {
		return "", err
	}
	code, err := qr.Image(uris[0], 640)
	if err != nil {
		return "", err
	}
	cb := code.Bounds()
	// A phone screen around the code: dark bezel, white screen.
	screen := image.NewGray(image.Rect(0, 0, cb.Dx()+160, cb.Dy()+420))
	for i := range screen.Pix {
		screen.Pix[i] = 250
	}
	draw.Draw(screen, cb.Add(image.Pt(80, 200)), code, image.Point{}, draw.Src)
	const W, H = 2000, 1500
	out := image.NewRGBA(image.Rect(0, 0, W, H))
	// Corners of the screen in the photo: a quadrilateral, not a square.
	sw, sh := float64(screen.Rect.Dx()), float64(screen.Rect.Dy())
	dst := [4][2]float64{{620, 180}, {1410, 250}, {1460, 1330}, {560, 1260}}
	h := homography([4][2]float64{{0, 0}, {sw, 0}, {sw, sh}, {0, sh}}, dst)
	inv := invert3(h)
	r := rand.New(rand.NewPCG(11, 13))
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			// Background: a wooden desk.
			v := 95 + 25*math.Sin(float64(x)/53+math.Sin(float64(y)/91)*3)
			bg := [3]float64{v + 40, v + 10, v - 20}
			u, w, z := inv[0]*float64(x)+inv[1]*float64(y)+inv[2], inv[3]*float64(x)+inv[4]*float64(y)+inv[5], inv[6]*float64(x)+inv[7]*float64(y)+inv[8]
			sx, sy := u/z, w/z
			var c [3]float64
			if sx >= -12 && sy >= -12 && sx < sw+12 && sy < sh+12 {
				g := 20.0 // the phone's bezel
				if sx >= 0 && sy >= 0 && sx < sw && sy < sh {
					g = bilinear(screen, sx, sy)
				}
				c = [3]float64{g, g, g * 0.97}
			} else {
				c = bg
			}
			// Uneven light: brighter top left, a shadow bottom right.
			light := 1.05 - 0.45*(float64(x)/W*0.6+float64(y)/H*0.4)
			for i := range c {
				c[i] = c[i]*light + r.NormFloat64()*6
			}
			out.SetRGBA(x, y, color.RGBA{clamp(c[0]), clamp(c[1]), clamp(c[2]), 0xff})
		}
	}
	blurred := boxBlur(boxBlur(out, 2), 2) // about a Gaussian of sigma 2
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := jpeg.Encode(f, blurred, &jpeg.Options{Quality: 88}); err != nil {
		f.Close()
		return "", err
	}
	return uris[0], f.Close()
}

func clamp(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v))) }

func bilinear(g *image.Gray, x, y float64) float64 {
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, g.Rect.Dx()-1), min(y0+1, g.Rect.Dy()-1)
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(x, y int) float64 { return float64(g.Pix[y*g.Stride+x]) }
	return (at(x0, y0)*(1-fx)+at(x1, y0)*fx)*(1-fy) + (at(x0, y1)*(1-fx)+at(x1, y1)*fx)*fy
}

// boxBlur averages each channel over a (2r+1)² square.
func boxBlur(src *image.RGBA, r int) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(b)
	tmp := make([]int, len(src.Pix))
	w, h := b.Dx(), b.Dy()
	for y := 0; y < h; y++ { // horizontal
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				s, n := 0, 0
				for k := max(0, x-r); k <= min(w-1, x+r); k++ {
					s += int(src.Pix[y*src.Stride+4*k+c])
					n++
				}
				tmp[y*src.Stride+4*x+c] = s / n
			}
		}
	}
	for y := 0; y < h; y++ { // vertical
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				s, n := 0, 0
				for k := max(0, y-r); k <= min(h-1, y+r); k++ {
					s += tmp[k*src.Stride+4*x+c]
					n++
				}
				dst.Pix[y*dst.Stride+4*x+c] = uint8(s / n)
			}
			dst.Pix[y*dst.Stride+4*x+3] = 0xff
		}
	}
	return dst
}

// homography maps the four src points onto the four dst points.
func homography(src, dst [4][2]float64) [9]float64 {
	// Solve the 8×8 system A h = b for h33 = 1.
	var a [8][9]float64
	for i := 0; i < 4; i++ {
		x, y, u, v := src[i][0], src[i][1], dst[i][0], dst[i][1]
		a[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	for c := 0; c < 8; c++ { // Gauss-Jordan with partial pivoting
		p := c
		for r := c + 1; r < 8; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		for r := 0; r < 8; r++ {
			if r != c {
				f := a[r][c] / a[c][c]
				for k := c; k < 9; k++ {
					a[r][k] -= f * a[c][k]
				}
			}
		}
	}
	var h [9]float64
	for i := 0; i < 8; i++ {
		h[i] = a[i][8] / a[i][i]
	}
	h[8] = 1
	return h
}

func invert3(m [9]float64) [9]float64 {
	det := m[0]*(m[4]*m[8]-m[5]*m[7]) - m[1]*(m[3]*m[8]-m[5]*m[6]) + m[2]*(m[3]*m[7]-m[4]*m[6])
	return [9]float64{
		(m[4]*m[8] - m[5]*m[7]) / det, (m[2]*m[7] - m[1]*m[8]) / det, (m[1]*m[5] - m[2]*m[4]) / det,
		(m[5]*m[6] - m[3]*m[8]) / det, (m[0]*m[8] - m[2]*m[6]) / det, (m[2]*m[3] - m[0]*m[5]) / det,
		(m[3]*m[7] - m[4]*m[6]) / det, (m[1]*m[6] - m[0]*m[7]) / det, (m[0]*m[4] - m[1]*m[3]) / det,
	}
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
