package web_test

import (
	"bytes"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var otpauthLinkRE = regexp.MustCompile(`<a id="otpauth-link"[^>]* href="([^"]*)"[^>]*>Open in authenticator app on this computer</a>`)

// TestSetupOffersOtpauthLink: beside the QR code the set-up page offers a
// plain otpauth:// link for an authenticator on the same computer, and it
// carries exactly the key URI the QR code does (read by zbarimg, an
// independent decoder).
func TestSetupOffersOtpauthLink(t *testing.T) {
	zbarimg, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Fatal("zbarimg not found: install the Debian package zbar-tools (make deps)")
	}
	h := newHarness(t)
	c := h.signup("Ann", "Ann")
	k := c.startEnrollment()

	r := c.get("/settings/security/2fa/totp/setup")
	m := otpauthLinkRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no otpauth link on the set-up page:\n%s", r.Body)
	}
	link := html.UnescapeString(m[1])
	if !strings.HasPrefix(link, "otpauth://totp/") {
		t.Fatalf("link = %q, want an otpauth://totp/ URI", link)
	}

	png := c.get("/settings/security/2fa/totp/qr.png")
	file := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(file, []byte(png.Body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbarimg, "--nodbus", "--raw", "-q", file).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	fromQR := strings.TrimRight(string(out), "\n")
	if link != fromQR {
		t.Errorf("link and QR code differ:\nlink %q\nQR   %q", link, fromQR)
	}
	if !strings.Contains(link, "secret="+k.SecretBase32()) || !strings.Contains(link, ":ann?") {
		t.Errorf("link = %q, want the pending key of ann (secret %s)", link, k.SecretBase32())
	}
	if !bytes.Contains([]byte(r.Body), []byte(`<img id="qr"`)) {
		t.Error("the QR code is gone from the set-up page")
	}
}
