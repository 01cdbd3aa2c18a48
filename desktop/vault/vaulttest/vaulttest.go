// Package vaulttest writes the sample files the desktop tests import: key
// URIs as other apps write them, Google Authenticator exports (text, and a
// photo of the export screen), and inputs that must be refused. They are
// made here rather than copied from other projects, so the repository holds
// only its own data.
package vaulttest

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"twofold.dev/shared/migration"
	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

// Files written by Write, and what each holds.
const (
	// KeyPNG: a plain otpauth QR code, Google's example account.
	KeyPNG = "key.png"
	// ExportPhoto: a camera photo of a Google Authenticator "Transfer
	// accounts" screen with the three PhotoAccounts.
	ExportPhoto = "export-photo.jpg"
	// ExportText: five export URIs, one per line, with comments: issuer and
	// no issuer, two accounts in one payload, HOTP with counter 4, a UTF-8
	// name. Every secret is ExportSecret.
	ExportText = "export.txt"
	// ExportPlus: one export URI of four PlusIssuer accounts whose data has
	// a raw '+', which careless decoders turn into a space.
	ExportPlus = "export-plus.txt"
	// ExportWrongData and ExportWrongPrefix: broken export URIs.
	ExportWrongData   = "export-wrong-data.txt"
	ExportWrongPrefix = "export-wrong-prefix.txt"
	// NotAKey: a QR code whose text is not a key.
	NotAKey = "not-a-key.png"
	// TextAsImage: text with an image's name.
	TextAsImage = "text-as-image.jpeg"
	// PlainURIs: otpauth URIs as authenticator backups write them: SHA1,
	// SHA256/7 digits/20 s, SHA512/8 digits/50 s, three HOTP, and a
	// non-standard steam one that must be refused.
	PlainURIs = "plain-uris.txt"
	// AegisBackup and TwoFASBackup hold AegisPlain and TwoFASPlain.
	AegisBackup  = "aegis-backup.json"
	TwoFASBackup = "backup.2fas"
)

// Values the files hold.
const (
	KeyURI       = "otpauth://totp/Example:alice@google.com?issuer=Example&period=30&secret=JBSWY3DPEHPK3PXP"
	ExportSecret = "4WJ6NZBFQXKCUOFZDX7C3XKHWA"
	PlusIssuer   = "Plusco"
	// OrbitSecret is the SHA256/7/20 s account "Orbit:james" of PlainURIs.
	OrbitSecret = "5QXNMOMVZ4GYFRD3LGEI3J7SKE"
)

// PhotoAccounts are the accounts in ExportPhoto, as "Issuer:account=SECRET".
var PhotoAccounts = []string{
	"Test1:test1@example1.com=JBSWY3DPEHPK3PXP",
	"Test2:test2@example2.com=JBSWY3DPEHPK3PXQ",
	"Test3:test3@example3.com=JBSWY3DPEHPK3PXR",
}

var plainURIs = strings.Join([]string{
	"otpauth://totp/Acme:mason?secret=KRUGS4ZANFZSAYJAONSWG4TFOQ&issuer=Acme&algorithm=SHA1&digits=6&period=30",
	"otpauth://totp/Orbit:james?secret=" + OrbitSecret + "&issuer=Orbit&algorithm=SHA256&digits=7&period=20",
	"otpauth://totp/Harbor:elijah?secret=NZQ4EQ3TB6GV2DKXRL5IHOYWMU&issuer=Harbor&algorithm=SHA512&digits=8&period=50",
	"otpauth://hotp/Quill:james?secret=PB3DGYRAO5K7MNZ2XH4SLEWQTI&issuer=Quill&algorithm=SHA1&digits=6&counter=1",
	"otpauth://hotp/Blue%20Sky%20Air:benjamin?secret=HU2VGQ4KMZ7XW3EDLYFBTNRPOA&issuer=Blue+Sky+Air&algorithm=SHA256&digits=7&counter=50",
	"otpauth://hotp/Forge:mason?secret=R3XPWQKZ5VMNYDH2LCUETGBOIA&issuer=Forge&algorithm=SHA512&digits=8&counter=10300",
	"otpauth://steam/Valve:sophia?secret=W6KZQ3MRNTX2Y5BHVFDLPOJCUE&issuer=Valve&algorithm=SHA1&digits=5&period=30",
}, "\n") + "\n"

// Backups in the two apps' plain formats, written here from their documented
// structure (field names as the apps write them).
// AegisPlain is an unencrypted Aegis backup: three accounts and a Steam
// entry, which is not standard TOTP.
const AegisPlain = `{
  "version": 1,
  "header": {"slots": null, "params": null},
  "db": {"version": 2, "entries": [
    {"type": "totp", "uuid": "1", "name": "mason", "issuer": "Acme", "icon": null,
     "info": {"secret": "KRUGS4ZANFZSAYJAONSWG4TFOQ", "algo": "SHA1", "digits": 6, "period": 30}},
    {"type": "totp", "uuid": "2", "name": "james", "issuer": "Orbit", "icon": null,
     "info": {"secret": "5QXNMOMVZ4GYFRD3LGEI3J7SKE", "algo": "SHA256", "digits": 7, "period": 20}},
    {"type": "hotp", "uuid": "3", "name": "benjamin", "issuer": "Blue Sky Air", "icon": null,
     "info": {"secret": "HU2VGQ4KMZ7XW3EDLYFBTNRPOA", "algo": "SHA512", "digits": 8, "counter": 50}},
    {"type": "steam", "uuid": "4", "name": "sophia", "issuer": "Valve", "icon": null,
     "info": {"secret": "W6KZQ3MRNTX2Y5BHVFDLPOJCUE", "algo": "SHA1", "digits": 5, "period": 30}}
  ]}
}`

// TwoFASPlain is an unencrypted 2FAS backup of three accounts.
const TwoFASPlain = `{"services":[
  {"name":"Acme","secret":"KRUGS4ZANFZSAYJAONSWG4TFOQ","otp":{"link":"otpauth://totp/Acme:mason?secret=KRUGS4ZANFZSAYJAONSWG4TFOQ","label":"mason","account":"mason","issuer":"Acme","digits":6,"period":30,"algorithm":"SHA1","tokenType":"TOTP","source":"Link"},"order":{"position":0}},
  {"name":"Quill","secret":"PB3DGYRAO5K7MNZ2XH4SLEWQTI","otp":{"label":"james","account":"james","digits":6,"algorithm":"SHA1","counter":1,"tokenType":"HOTP","source":"Manual"},"order":{"position":1}},
  {"name":"Harbor","secret":"NZQ4EQ3TB6GV2DKXRL5IHOYWMU","otp":{"account":"elijah","issuer":"Harbor","digits":8,"period":50,"algorithm":"SHA512","tokenType":"TOTP"},"order":{"position":2}}
],"schemaVersion":4,"appVersionCode":5000012}`

// Write makes every file in a new temporary directory and returns it.
func Write(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	write := func(name string, data []byte) {
		tb.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	must := func(b []byte, err error) []byte {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	write(KeyPNG, must(qr.PNG(KeyURI, 300)))
	write(NotAKey, must(qr.PNG("This QR code is not an authenticator key", 300)))
	write(TextAsImage, []byte("This is text, not a JPEG image.\n"))
	write(PlainURIs, []byte(plainURIs))
	write(ExportText, []byte(exportText(tb)))
	write(ExportPlus, []byte(exportPlus(tb)+"\n"))
	write(ExportWrongData, []byte("otpauth-migration://offline?data=bm90IGEgcHJvdG9idWYgYXQgYWxs\n"))
	write(ExportWrongPrefix, []byte("QR-Code:"+exportURI(tb, []*totp.Key{photoKey(tb, PhotoAccounts[0])}, 1)+"\n"))
	write(ExportPhoto, photo(tb))
	write(AegisBackup, []byte(AegisPlain))
	write(TwoFASBackup, []byte(TwoFASPlain))
	return dir
}

func exportURI(tb testing.TB, keys []*totp.Key, id int32) string {
	tb.Helper()
	uris, err := migration.Encode(keys, id, len(keys))
	if err != nil {
		tb.Fatal(err)
	}
	return uris[0]
}

func secret(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := totp.DecodeSecret(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func exportText(tb testing.TB) string {
	k := func(issuer, account string) *totp.Key {
		return &totp.Key{Type: totp.TOTP, Issuer: issuer, Account: account, Secret: secret(tb, ExportSecret), Digits: 6, Period: 30}
	}
	hotp := k("", "hotp demo")
	hotp.Type, hotp.Period, hotp.Counter = totp.HOTP, 0, 4
	var b strings.Builder
	for _, e := range []struct {
		comment string
		keys    []*totp.Key
		id      int32
	}{
		{"an account with an issuer", []*totp.Key{k("raspberrypi", "pi@raspberrypi")}, -1320898453},
		{"the same account without an issuer", []*totp.Key{k("", "pi@raspberrypi")}, 7},
		{"two accounts in one payload", []*totp.Key{k("", "pi@raspberrypi"), k("raspberrypi", "pi@raspberrypi")}, -3},
		{"HOTP with counter 4", []*totp.Key{hotp}, 11},
		{`a UTF-8 name with a colon and no issuer: "encoding: ¿äÄéÉ? (demo)"`, []*totp.Key{k("", "encoding: ¿äÄéÉ? (demo)")}, -171198419},
	} {
		fmt.Fprintf(&b, "# %s\n%s\n\n", e.comment, exportURI(tb, e.keys, e.id))
	}
	return b.String()
}

// exportPlus finds secrets whose export data has a '+', and writes the
// data unescaped, as some tools do.
func exportPlus(tb testing.TB) string {
	r := rand.New(rand.NewPCG(5, 7))
	for {
		var keys []*totp.Key
		for i := 1; i <= 4; i++ {
			s := make([]byte, 20)
			for j := range s {
				s[j] = byte(r.Uint32())
			}
			keys = append(keys, &totp.Key{Type: totp.TOTP, Issuer: PlusIssuer, Account: fmt.Sprintf("test%d@example.com", i), Secret: s, Digits: 6, Period: 30})
		}
		u := strings.Replace(exportURI(tb, keys, -891901438), "%2B", "+", -1)
		u = strings.Replace(u, "%2F", "/", -1)
		u = strings.Replace(u, "%3D", "=", -1)
		if strings.Contains(u, "+") {
			return u
		}
	}
}

func photoKey(tb testing.TB, account string) *totp.Key {
	label, sec, _ := strings.Cut(account, "=")
	issuer, name, _ := strings.Cut(label, ":")
	return &totp.Key{Type: totp.TOTP, Issuer: issuer, Account: name, Secret: secret(tb, sec), Digits: 6, Period: 30}
}

// photo draws the export's QR code as a phone camera sees a screen: tilted
// in perspective, softly focused, unevenly lit, with sensor noise, saved as
// a JPEG.
func photo(tb testing.TB) []byte {
	tb.Helper()
	var keys []*totp.Key
	for _, a := range PhotoAccounts {
		keys = append(keys, photoKey(tb, a))
	}
	code, err := qr.Image(exportURI(tb, keys, 1099428877), 400)
	if err != nil {
		tb.Fatal(err)
	}
	src := code.(*image.Gray)
	const w, h = 900, 1200
	// Where the code's corners land: a tilted quadrilateral.
	quad := [4][2]float64{{200, 330}, {720, 312}, {738, 862}, {178, 850}}
	toSquare := invert(squareToQuad(quad))
	r := rand.New(rand.NewPCG(1, 9))
	img := image.NewGray(image.Rect(0, 0, w, h))
	sw, sh := float64(src.Rect.Dx()), float64(src.Rect.Dy())
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// The phone's screen glows; the room around it is dim and warm.
			v := 70.0 + 30*float64(y)/h
			u, vv := project(toSquare, float64(x)+0.5, float64(y)+0.5)
			if u >= -0.08 && u <= 1.08 && vv >= -0.08 && vv <= 1.08 {
				v = 235
				if u >= 0 && u < 1 && vv >= 0 && vv < 1 {
					v = float64(src.GrayAt(int(u*sw), int(vv*sh)).Y)*0.8 + 30
				}
			}
			// Uneven light: brighter top left, a vignette.
			dx, dy := float64(x)/w-0.35, float64(y)/h-0.3
			v *= 1.05 - 0.45*math.Sqrt(dx*dx+dy*dy)
			img.Pix[y*img.Stride+x] = clamp(v + r.NormFloat64()*6)
		}
	}
	img = blur(blur(img))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func clamp(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v))) }

// blur is a 3×3 box blur: a lens slightly out of focus.
func blur(g *image.Gray) *image.Gray {
	b := g.Rect
	out := image.NewGray(b)
	for y := 1; y < b.Dy()-1; y++ {
		for x := 1; x < b.Dx()-1; x++ {
			s := 0
			for j := -1; j <= 1; j++ {
				for i := -1; i <= 1; i++ {
					s += int(g.Pix[(y+j)*g.Stride+x+i])
				}
			}
			out.Pix[y*out.Stride+x] = uint8(s / 9)
		}
	}
	return out
}

// squareToQuad is the homography taking the unit square's corners (0,0),
// (1,0), (1,1), (0,1) to q (Heckbert, "Fundamentals of Texture Mapping").
func squareToQuad(q [4][2]float64) [9]float64 {
	x0, y0, x1, y1, x2, y2, x3, y3 := q[0][0], q[0][1], q[1][0], q[1][1], q[2][0], q[2][1], q[3][0], q[3][1]
	dx1, dx2, dx3 := x1-x2, x3-x2, x0-x1+x2-x3
	dy1, dy2, dy3 := y1-y2, y3-y2, y0-y1+y2-y3
	den := dx1*dy2 - dx2*dy1
	g := (dx3*dy2 - dx2*dy3) / den
	hh := (dx1*dy3 - dx3*dy1) / den
	return [9]float64{x1 - x0 + g*x1, x3 - x0 + hh*x3, x0, y1 - y0 + g*y1, y3 - y0 + hh*y3, y0, g, hh, 1}
}

func invert(m [9]float64) [9]float64 {
	a, b, c, d, e, f, g, h, i := m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]
	det := a*(e*i-f*h) - b*(d*i-f*g) + c*(d*h-e*g)
	return [9]float64{
		(e*i - f*h) / det, (c*h - b*i) / det, (b*f - c*e) / det,
		(f*g - d*i) / det, (a*i - c*g) / det, (c*d - a*f) / det,
		(d*h - e*g) / det, (b*g - a*h) / det, (a*e - b*d) / det,
	}
}

func project(m [9]float64, x, y float64) (float64, float64) {
	w := m[6]*x + m[7]*y + m[8]
	return (m[0]*x + m[1]*y + m[2]) / w, (m[3]*x + m[4]*y + m[5]) / w
}
