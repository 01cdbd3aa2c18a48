package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"twofold.dev/desktop/vault/vaulttest"
	"twofold.dev/shared/totp"
)

// secretService fails (never skips) when no Secret Service answers.
func secretService(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"secret-tool", "oathtool", "zbarimg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (make deps installs it): %v", tool, err)
		}
	}
	done := make(chan error, 1)
	go func() {
		if err := gokeyring.Set("twofold-probe", "cli", "x"); err != nil {
			done <- err
			return
		}
		done <- gokeyring.Delete("twofold-probe", "cli")
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("no Secret Service reachable (run the tests through scripts/with-keyring.sh, as make test-desktop does): %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Secret Service did not answer in 10 s (run through scripts/with-keyring.sh)")
	}
}

// twofold runs the command line against its own config dir at a fixed time.
type twofold struct {
	t   *testing.T
	dir string
	now time.Time
}

func newCLI(t *testing.T) *twofold {
	t.Helper()
	secretService(t)
	return &twofold{t: t, dir: t.TempDir(), now: time.Unix(1_700_000_015, 0)}
}

func (c *twofold) run(args ...string) (string, string, error) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"TWOFOLD_CONFIG_DIR": c.dir, "TWOFOLD_KEYRING_TIMEOUT": keyringPatience.String()}
	err := runAt(context.Background(), func() time.Time { return c.now }, args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	if err != nil && strings.Contains(err.Error(), "\n") {
		c.t.Errorf("twofold %v: error is not one line: %q", args, err)
	}
	return out.String(), errOut.String(), err
}

func (c *twofold) ok(args ...string) string {
	c.t.Helper()
	out, _, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("twofold %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (c *twofold) fails(want string, args ...string) {
	c.t.Helper()
	_, _, err := c.run(args...)
	if err == nil || !strings.Contains(err.Error(), want) {
		c.t.Fatalf("twofold %s: error %v, want one mentioning %q", strings.Join(args, " "), err, want)
	}
}

// oathtool is the independent oracle for codes.
func oathtool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("oathtool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func secret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 20)
	rand.Read(b)
	return (&totp.Key{Secret: b}).SecretBase32()
}

func TestCodeAgreesWithOathtool(t *testing.T) {
	c := newCLI(t)
	for i, tc := range []struct {
		alg    string
		digits int
		period int
	}{
		{"SHA1", 6, 30}, {"SHA256", 8, 30}, {"SHA512", 8, 60}, {"SHA256", 7, 20}, {"SHA1", 7, 45},
	} {
		s := secret(t)
		label := "Svc" + strconv.Itoa(i) + ":user"
		uri := "otpauth://totp/" + label + "?secret=" + s + "&algorithm=" + tc.alg + "&digits=" + strconv.Itoa(tc.digits) + "&period=" + strconv.Itoa(tc.period)
		if out := c.ok("add", uri); out != "added "+label+"\n" {
			t.Fatalf("add printed %q", out)
		}
		for _, at := range []int64{1_700_000_015, 1_700_000_029, 1_700_000_030, 2_000_000_000} {
			c.now = time.Unix(at, 0)
			got := c.ok("code", label)
			want := oathtool(t, "--totp="+tc.alg, "-d", strconv.Itoa(tc.digits), "-s", strconv.Itoa(tc.period)+"s", "-b", "-N", "@"+strconv.FormatInt(at, 10), s)
			if got != want+"\n" {
				t.Errorf("%s %d digits %d s at %d: twofold %q, oathtool %q", tc.alg, tc.digits, tc.period, at, got, want)
			}
		}
	}
}

func TestHOTPStartsAtImportedCounter(t *testing.T) {
	c := newCLI(t)
	s := secret(t)
	c.ok("add", "otpauth://hotp/Door:dave?secret="+s+"&counter=41&digits=8")
	for n := 41; n < 44; n++ {
		got := c.ok("code", "Door")
		want := oathtool(t, "--hotp", "-d", "8", "-c", strconv.Itoa(n), "-b", s)
		if got != want+"\n" {
			t.Fatalf("HOTP call %d: twofold %q, oathtool -c %d %q", n-40, got, n, want)
		}
	}
	if out := c.ok("list"); !strings.Contains(out, "\tDoor:dave\thotp SHA1 8 digits counter 44") {
		t.Fatalf("list after three codes:\n%s", out)
	}
}

func TestAddListRemove(t *testing.T) {
	c := newCLI(t)
	s := secret(t)
	c.ok("add", "otpauth://totp/ACME:alice@example.com?secret="+s, "otpauth://totp/ACME:alice2@example.com?secret="+secret(t))
	out := c.ok("list")
	idx, _ := os.ReadFile(filepath.Join(c.dir, "accounts.json"))
	id := between(string(idx), `"id": "`, `"`)
	id2 := between(strings.SplitN(string(idx), "alice@", 2)[1], `"id": "`, `"`)
	want := id[:8] + "\tACME:alice@example.com\ttotp SHA1 6 digits 30s\n" + id2[:8] + "\tACME:alice2@example.com\ttotp SHA1 6 digits 30s\n"
	if out != want {
		t.Fatalf("list:\n%s\nwant:\n%s", out, want)
	}
	c.fails("already added", "add", "otpauth://totp/ACME:alice@example.com?secret="+s)
	c.fails("matches 2 accounts ("+id[:8]+" ACME:alice@example.com, "+id2[:8]+" ACME:alice2@example.com): give the id", "code", "ACME")
	c.fails("no such account", "code", "nobody")
	if got := c.ok("code", "ACME:alice@example.com"); len(got) != 7 {
		t.Fatalf("code of the exact label: %q", got)
	}

	if out, err := exec.Command("secret-tool", "lookup", "service", "twofold", "username", id).Output(); err != nil || string(out) != s {
		t.Fatalf("keyring item %s: %q %v", id, out, err)
	}
	if out := c.ok("remove", "alice@"); out != "removed ACME:alice@example.com\n" {
		t.Fatalf("remove printed %q", out)
	}
	if _, err := exec.Command("secret-tool", "lookup", "service", "twofold", "username", id).Output(); err == nil {
		t.Fatal("keyring item still there after remove")
	}
	if out := c.ok("list"); out != id2[:8]+"\tACME:alice2@example.com\ttotp SHA1 6 digits 30s\n" {
		t.Fatalf("list after remove:\n%s", out)
	}
	if bytes.Contains(idx, []byte(s)) {
		t.Fatal("index holds the secret")
	}
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}

func TestSamples(t *testing.T) {
	c := newCLI(t)
	testdata := vaulttest.Write(t) + "/"

	// A camera photo of a Google Authenticator export.
	out := c.ok("add", "--image", testdata+vaulttest.ExportPhoto)
	if out != "added Test1:test1@example1.com\nadded Test2:test2@example2.com\nadded Test3:test3@example3.com\n" {
		t.Fatalf("GA export photo:\n%s", out)
	}
	want := oathtool(t, "--totp", "-b", "-N", "@1700000015", "JBSWY3DPEHPK3PXQ")
	if got := c.ok("code", "Test2"); got != want+"\n" {
		t.Fatalf("Test2 code %q, oathtool %q", got, want)
	}

	// Aegis's plain URIs: all standard ones parse; steam is refused and,
	// given together with the others, nothing at all is added.
	var good []string
	steam := ""
	data, _ := os.ReadFile(testdata + vaulttest.PlainURIs)
	for _, l := range strings.Fields(string(data)) {
		if strings.HasPrefix(l, "otpauth://steam/") {
			steam = l
		} else {
			good = append(good, l)
		}
	}
	c.fails(`unsupported "steam"`, append(append([]string{"add"}, good...), steam)...)
	if out := c.ok("list"); strings.Count(out, "\n") != 3 {
		t.Fatalf("a refused batch added accounts:\n%s", out)
	}
	c.ok(append([]string{"add"}, good...)...)
	out = c.ok("list")
	for _, w := range []string{"Orbit:james\ttotp SHA256 7 digits 20s", "Harbor:elijah\ttotp SHA512 8 digits 50s", "Blue Sky Air:benjamin\thotp SHA256 7 digits counter 50"} {
		if !strings.Contains(out, w) {
			t.Errorf("list lacks %q:\n%s", w, out)
		}
	}
	if got, want := c.ok("code", "Orbit"), oathtool(t, "--totp=SHA256", "-d", "7", "-s", "20s", "-b", "-N", "@1700000015", vaulttest.OrbitSecret); got != want+"\n" {
		t.Errorf("Orbit code %q, oathtool %q", got, want)
	}

	// Broken exports and pictures: a clear error, nothing added.
	before := c.ok("list")
	wrongData, _ := os.ReadFile(testdata + vaulttest.ExportWrongData)
	wrongPrefix, _ := os.ReadFile(testdata + vaulttest.ExportWrongPrefix)
	c.fails("reading Google Authenticator export", "add", strings.TrimSpace(string(wrongData)))
	c.fails("not an otpauth:// or otpauth-migration:// URI", "add", strings.TrimSpace(string(wrongPrefix)))
	c.fails("not an authenticator key", "add", "--image", testdata+vaulttest.NotAKey)
	c.fails("not a PNG, JPEG or GIF image", "add", "--image", testdata+vaulttest.TextAsImage)
	c.fails("no such file", "add", "--image", testdata+"nope.png")
	if after := c.ok("list"); after != before {
		t.Fatalf("bad input changed the accounts:\n%s", after)
	}

	// Migration URIs from text, including the '+' one.
	plus, _ := os.ReadFile(testdata + vaulttest.ExportPlus)
	if out := c.ok("add", strings.TrimSpace(string(plus))); strings.Count(out, "added "+vaulttest.PlusIssuer+":") != 4 {
		t.Fatalf("plus-problem export:\n%s", out)
	}
}

func TestDecodeMatchesZbarimg(t *testing.T) {
	c := newCLI(t)
	testdata := vaulttest.Write(t) + "/"
	files := []string{testdata + vaulttest.KeyPNG, testdata + vaulttest.ExportPhoto, testdata + vaulttest.NotAKey}
	out := c.ok(append([]string{"decode"}, files...)...)
	z, err := exec.Command("zbarimg", append([]string{"--raw", "--quiet", "--nodbus"}, files...)...).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if out != string(z) {
		t.Fatalf("twofold decode:\n%s\nzbarimg --raw:\n%s", out, z)
	}
	blank := filepath.Join(t.TempDir(), "blank.png")
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 64, 64)))
	os.WriteFile(blank, buf.Bytes(), 0o600)
	c.fails("blank.png: no QR code found", "decode", testdata+vaulttest.KeyPNG, blank)
	c.fails("cli_test.go: not a PNG, JPEG or GIF image", "decode", "cli_test.go")
	if _, err := os.Stat(filepath.Join(c.dir, "accounts.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("decode stored something")
	}
}

func TestUsageAndBadArguments(t *testing.T) {
	c := newCLI(t)
	if out := c.ok("help"); !strings.Contains(out, "add --screen") || !strings.Contains(out, "code LABEL") {
		t.Fatalf("usage:\n%s", out)
	}
	if out := c.ok("help"); !strings.Contains(out, "repair") || !strings.Contains(out, "--keep-both") || !strings.Contains(out, "lock") {
		t.Fatalf("usage does not explain repair, --replace/--keep-both and the lock:\n%s", out)
	}
	if out := c.ok("-h"); !strings.Contains(out, "Usage: twofold") {
		t.Fatalf("-h printed %q", out)
	}
	c.fails("unknown command", "frobnicate")
	c.fails("twofold: unknown option -x (try: twofold help)", "-x", "list")
	c.fails("give one LABEL", "code")
	c.fails("give at least one image", "decode")
	c.fails("give one of --image, --screen or --backup", "add", "--image", "--screen", "x")
	c.fails("give an otpauth:// or otpauth-migration:// URI", "add")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"list"}, func(k string) string {
		return map[string]string{"TWOFOLD_KEYRING_TIMEOUT": "soon", "TWOFOLD_CONFIG_DIR": c.dir}[k]
	}, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "TWOFOLD_KEYRING_TIMEOUT") {
		t.Fatalf("bad timeout: %v", err)
	}
}

func TestAddBackup(t *testing.T) {
	c := newCLI(t)
	dir := vaulttest.Write(t)
	out, stderr, err := c.run("add", "--backup", filepath.Join(dir, vaulttest.AegisBackup), filepath.Join(dir, vaulttest.TwoFASBackup))
	if err != nil {
		t.Fatal(err)
	}
	// Acme:mason is in both backups: added once, the second reported.
	for _, w := range []string{"added Acme:mason\n", "added Orbit:james\n", "added Blue Sky Air:benjamin\n", "added Quill:james\n", "added Harbor:elijah\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Count(out, "added") != 5 || !strings.Contains(stderr, "Valve:sophia") || !strings.Contains(stderr, "already") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, stderr)
	}
	want := oathtool(t, "--totp=SHA512", "-d", "8", "-s", "50s", "-b", "-N", "@1700000015", "NZQ4EQ3TB6GV2DKXRL5IHOYWMU")
	if got := c.ok("code", "Harbor"); got != want+"\n" {
		t.Errorf("Harbor code %q, oathtool %q", got, want)
	}
	before := c.ok("list")
	enc := filepath.Join(t.TempDir(), "enc.json")
	os.WriteFile(enc, []byte(`{"version":1,"header":{"slots":[{}]},"db":"Y2lwaGVy"}`), 0o600)
	c.fails("encrypted", "add", "--backup", enc)
	c.fails("give one of --image, --screen or --backup", "add", "--backup", "--screen", enc)
	if after := c.ok("list"); after != before {
		t.Errorf("a refused backup changed the accounts:\n%s", after)
	}
}

func TestPinUnpinList(t *testing.T) {
	c := newCLI(t)
	c.ok("add", "otpauth://totp/ACME:alice@example.com?secret="+secret(t),
		"otpauth://totp/Bank:bob?secret="+secret(t),
		"otpauth://hotp/Mail:carol?secret="+secret(t)+"&counter=3")
	idx, _ := os.ReadFile(filepath.Join(c.dir, "accounts.json"))
	alice := between(string(idx), `"id": "`, `"`)[:8]
	bob := between(strings.SplitN(string(idx), "alice@", 2)[1], `"id": "`, `"`)[:8]
	carol := between(strings.SplitN(string(idx), "bob", 2)[1], `"id": "`, `"`)[:8]
	lines := map[string]string{
		"alice": alice + "\tACME:alice@example.com\ttotp SHA1 6 digits 30s",
		"bob":   bob + "\tBank:bob\ttotp SHA1 6 digits 30s",
		"carol": carol + "\tMail:carol\thotp SHA1 6 digits counter 3",
	}
	list := func(want ...string) {
		t.Helper()
		if got := c.ok("list"); got != strings.Join(want, "\n")+"\n" {
			t.Fatalf("list:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
		}
	}

	// By a part of the label, as remove and code resolve it.
	if out := c.ok("pin", "carol"); out != "pinned Mail:carol\n" {
		t.Fatalf("pin printed %q", out)
	}
	list(lines["carol"]+" (pinned)", lines["alice"], lines["bob"])
	// By the short id list prints; two pins keep the list's order.
	if out := c.ok("pin", bob); out != "pinned Bank:bob\n" {
		t.Fatalf("pin by id printed %q", out)
	}
	list(lines["bob"]+" (pinned)", lines["carol"]+" (pinned)", lines["alice"])
	if out := c.ok("pin", "Bank:bob"); out != "Bank:bob is already pinned\n" {
		t.Fatalf("pinning again printed %q", out)
	}
	// The pin is in the index, where the window reads it.
	idx, _ = os.ReadFile(filepath.Join(c.dir, "accounts.json"))
	if n := strings.Count(string(idx), `"pinned": true`); n != 2 {
		t.Fatalf("index has %d pinned accounts, want 2:\n%s", n, idx)
	}

	if out := c.ok("unpin", "carol"); out != "unpinned Mail:carol\n" {
		t.Fatalf("unpin printed %q", out)
	}
	list(lines["bob"]+" (pinned)", lines["alice"], lines["carol"])
	if out := c.ok("unpin", "alice"); out != "ACME:alice@example.com is already unpinned\n" {
		t.Fatalf("unpinning an unpinned account printed %q", out)
	}
	c.fails("give one LABEL", "pin")
	c.fails("give one LABEL", "unpin", "a", "b")
	c.fails("no such account", "pin", "nobody")
	c.fails("matches 3 accounts", "unpin", "a")
	if out := c.ok("help"); !strings.Contains(out, "pin LABEL") || !strings.Contains(out, "unpin LABEL") {
		t.Fatalf("usage does not explain pin and unpin:\n%s", out)
	}
}
