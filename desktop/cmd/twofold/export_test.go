package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"twofold.dev/desktop/vault/vaulttest"
	"twofold.dev/shared/totp"
)

// runIn runs the command line with stdin (a password line, say).
func (c *twofold) runIn(stdin string, args ...string) (string, string, error) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"TWOFOLD_CONFIG_DIR": c.dir, "TWOFOLD_KEYRING_TIMEOUT": keyringPatience.String()}
	err := runAt(context.Background(), func() time.Time { return c.now }, args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func (c *twofold) okIn(stdin string, args ...string) (string, string) {
	c.t.Helper()
	out, errOut, err := c.runIn(stdin, args...)
	if err != nil {
		c.t.Fatalf("twofold %s: %v", strings.Join(args, " "), err)
	}
	return out, errOut
}

// accountsIn is what `twofold list` prints, without the ids (a restored
// account is a new account), sorted.
func (c *twofold) accountsIn() []string {
	c.t.Helper()
	lines := strings.Split(strings.TrimSpace(c.ok("list")), "\n")
	if lines[0] == "" {
		return nil
	}
	for i, l := range lines {
		if _, rest, ok := strings.Cut(l, "\t"); ok {
			lines[i] = rest
		}
	}
	sort.Strings(lines)
	return lines
}

// secretTool counts the keyring items that have the attributes (name,
// value pairs). Tests narrow it to their own config dir: other packages
// add and delete items in the same keyring while this one runs.
func secretTool(t *testing.T, attrs ...string) int {
	t.Helper()
	out, _ := exec.Command("secret-tool", append([]string{"search", "--all"}, attrs...)...).CombinedOutput()
	return strings.Count("\n"+string(out), "\nlabel = ")
}

// mixedAccounts adds one account of every kind and returns their URIs.
func mixedAccounts(t *testing.T, c *twofold) map[string]string {
	t.Helper()
	uris := map[string]string{
		"GitHub:joe":        "otpauth://totp/GitHub:joe?secret=" + secret(t),
		"Orbit:james":       "otpauth://totp/Orbit:james?secret=" + secret(t) + "&algorithm=SHA256&digits=7&period=20",
		"Bänk:anna@ex.ch":   "otpauth://totp/B%C3%A4nk:anna@ex.ch?secret=" + secret(t) + "&algorithm=SHA512&digits=8&period=60",
		"Blue Sky:benjamin": "otpauth://hotp/Blue%20Sky:benjamin?secret=" + secret(t) + "&counter=5",
		"solo":              "otpauth://totp/solo?secret=" + secret(t),
	}
	for _, label := range []string{"GitHub:joe", "Orbit:james", "Bänk:anna@ex.ch", "Blue Sky:benjamin", "solo"} {
		c.ok("add", uris[label])
	}
	return uris
}

func TestExportEncryptedRoundTrip(t *testing.T) {
	c := newCLI(t)
	uris := mixedAccounts(t, c)
	// Two HOTP codes used: the stored counter is now 7.
	c.ok("code", "Blue Sky:benjamin")
	c.ok("code", "Blue Sky:benjamin")
	c.ok("pin", "Orbit") // an Aegis favourite in the backup, pinned again on restore
	want := c.accountsIn()
	file := filepath.Join(t.TempDir(), "twofold.json")

	if _, _, err := c.runIn("\n", "export", "--encrypted", file); err == nil || !strings.Contains(err.Error(), "password is empty") {
		t.Fatalf("empty password: %v", err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("an export with an empty password wrote a file")
	}
	out, _ := c.okIn("s3cret pass\n", "export", "--encrypted", file)
	if !strings.Contains(out, "exported 5 accounts") {
		t.Errorf("export printed %q", out)
	}
	if info, _ := os.Stat(file); info.Mode().Perm() != 0o600 {
		t.Errorf("export mode %v, want 0600", info.Mode().Perm())
	}
	data, _ := os.ReadFile(file)
	// Checked with a reader written from Aegis's documentation.
	content, err := vaulttest.DecryptAegis(t, data, "s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(content["entries"].([]any)); n != 5 {
		t.Fatalf("%d entries in the vault, want 5", n)
	}
	for _, e := range content["entries"].([]any) {
		entry := e.(map[string]any)
		if fav := entry["favorite"]; fav != (entry["issuer"] == "Orbit") {
			t.Errorf("%s:%s has favorite %v in the vault; only the pinned Orbit:james should", entry["issuer"], entry["name"], fav)
		}
		if entry["issuer"] == "Blue Sky" {
			if c := entry["info"].(map[string]any)["counter"]; c != float64(7) {
				t.Errorf("HOTP counter in the vault: %v, want 7", c)
			}
		}
	}
	if _, _, err := c.runIn("x\n", "export", "--encrypted", file); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("export over an existing file: %v", err)
	}

	// A wrong password adds nothing.
	empty := newCLI(t)
	items := secretTool(t, "service", "twofold", "dir", empty.dir)
	if _, _, err := empty.runIn("S3cret pass\n", "add", "--backup", file); err == nil || !strings.Contains(err.Error(), "wrong password for this backup") {
		t.Fatalf("wrong password: %v", err)
	}
	if got := empty.accountsIn(); len(got) != 0 || secretTool(t, "service", "twofold", "dir", empty.dir) != items {
		t.Fatalf("a wrong password added %q", got)
	}

	// Restored into an empty store: every account, parameters and counter.
	out, _ = empty.okIn("s3cret pass\n", "add", "--backup", file)
	if strings.Count(out, "added ") != 5 || !strings.Contains(out, "added Orbit:james (pinned)\n") {
		t.Errorf("restore printed %q", out)
	}
	if got := empty.accountsIn(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("restored\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for label, uri := range uris {
		k, err := totp.ParseURI(uri)
		if err != nil {
			t.Fatal(err)
		}
		var oath string
		if k.Type == totp.HOTP {
			oath = oathtool(t, "--hotp", "-d", strconv.Itoa(k.Digits), "-c", "7", "-b", k.SecretBase32())
		} else {
			oath = oathtool(t, "--totp="+k.Algorithm.String(), "-d", strconv.Itoa(k.Digits), "-s", strconv.Itoa(k.Period)+"s", "-b", "-N", "@"+strconv.FormatInt(empty.now.Unix(), 10), k.SecretBase32())
		}
		if got := empty.ok("code", label); got != oath+"\n" {
			t.Errorf("%s after restore: code %q, oathtool %q", label, got, oath)
		}
	}
}

// gaSchema is Google Authenticator's MigrationPayload message, built here
// from its published .proto (independent of shared/migration).
func gaSchema(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	s := proto.String
	i := proto.Int32
	enum := func(name string, values ...string) *descriptorpb.EnumDescriptorProto {
		e := &descriptorpb.EnumDescriptorProto{Name: s(name)}
		for n, v := range values {
			e.Value = append(e.Value, &descriptorpb.EnumValueDescriptorProto{Name: s(v), Number: i(int32(n))})
		}
		return e
	}
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string, repeated bool) *descriptorpb.FieldDescriptorProto {
		label := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		if repeated {
			label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		}
		f := &descriptorpb.FieldDescriptorProto{Name: s(name), Number: i(num), Type: typ.Enum(), Label: label.Enum()}
		if typeName != "" {
			f.TypeName = s(typeName)
		}
		return f
	}
	const P = ".googleauth.MigrationPayload."
	file := &descriptorpb.FileDescriptorProto{
		Name: s("google_auth.proto"), Package: s("googleauth"), Syntax: s("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: s("MigrationPayload"),
			EnumType: []*descriptorpb.EnumDescriptorProto{
				enum("Algorithm", "ALGORITHM_UNSPECIFIED", "SHA1", "SHA256", "SHA512", "MD5"),
				enum("DigitCount", "DIGIT_COUNT_UNSPECIFIED", "SIX", "EIGHT"),
				enum("OtpType", "OTP_TYPE_UNSPECIFIED", "HOTP", "TOTP"),
			},
			NestedType: []*descriptorpb.DescriptorProto{{
				Name: s("OtpParameters"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("secret", 1, descriptorpb.FieldDescriptorProto_TYPE_BYTES, "", false),
					field("name", 2, descriptorpb.FieldDescriptorProto_TYPE_STRING, "", false),
					field("issuer", 3, descriptorpb.FieldDescriptorProto_TYPE_STRING, "", false),
					field("algorithm", 4, descriptorpb.FieldDescriptorProto_TYPE_ENUM, P+"Algorithm", false),
					field("digits", 5, descriptorpb.FieldDescriptorProto_TYPE_ENUM, P+"DigitCount", false),
					field("type", 6, descriptorpb.FieldDescriptorProto_TYPE_ENUM, P+"OtpType", false),
					field("counter", 7, descriptorpb.FieldDescriptorProto_TYPE_INT64, "", false),
				},
			}},
			Field: []*descriptorpb.FieldDescriptorProto{
				field("otp_parameters", 1, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, P+"OtpParameters", true),
				field("version", 2, descriptorpb.FieldDescriptorProto_TYPE_INT32, "", false),
				field("batch_size", 3, descriptorpb.FieldDescriptorProto_TYPE_INT32, "", false),
				field("batch_index", 4, descriptorpb.FieldDescriptorProto_TYPE_INT32, "", false),
				field("batch_id", 5, descriptorpb.FieldDescriptorProto_TYPE_INT32, "", false),
			},
		}},
	}
	fd, err := protodesc.NewFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("MigrationPayload")
}

func TestExportGoogleAuthenticator(t *testing.T) {
	c := newCLI(t)
	want := map[string]string{} // "issuer|name" → "secret|algo|digits|type|counter"
	add := func(uri string) {
		c.ok("add", uri)
	}
	for i := 0; i < 21; i++ {
		s := secret(t)
		issuer, name := "Svc"+strconv.Itoa(i), "user"+strconv.Itoa(i)
		uri := "otpauth://totp/" + issuer + ":" + name + "?secret=" + s
		kind, algo, digits, counter := "TOTP", "SHA1", "SIX", "0"
		switch i % 4 {
		case 1:
			uri += "&digits=8&algorithm=SHA256"
			algo, digits = "SHA256", "EIGHT"
		case 2:
			uri = "otpauth://hotp/" + issuer + ":" + name + "?secret=" + s + "&counter=" + strconv.Itoa(i)
			kind, counter = "HOTP", strconv.Itoa(i)
		}
		add(uri)
		want[issuer+"|"+issuer+":"+name] = s + "|" + algo + "|" + digits + "|" + kind + "|" + counter
	}
	add("otpauth://totp/Slow:sixty?secret=" + secret(t) + "&period=60")
	add("otpauth://totp/Odd:seven?secret=" + secret(t) + "&digits=7")
	dir := filepath.Join(t.TempDir(), "ga")
	out, errOut, err := c.runIn("", "export", "--google-authenticator", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "exported 21 accounts in 3 QR codes") {
		t.Errorf("printed %q", out)
	}
	if !strings.Contains(errOut, "not exported (Google Authenticator cannot hold it): Slow:sixty: period") || !strings.Contains(errOut, "Odd:seven: digits") {
		t.Errorf("the two accounts GA cannot hold are not named: %q", errOut)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	if len(files) != 3 {
		t.Fatalf("%d PNGs, want 3: %q", len(files), files)
	}
	schema := gaSchema(t)
	got := map[string]string{}
	var batchID int64 = -1
	indexes := map[int64]bool{}
	for _, f := range files {
		raw, err := exec.Command("zbarimg", "--nodbus", "-q", "--raw", f).Output()
		if err != nil {
			t.Fatalf("zbarimg %s: %v", f, err)
		}
		u, err := url.Parse(strings.TrimSpace(string(raw)))
		if err != nil || u.Scheme != "otpauth-migration" || u.Host != "offline" {
			t.Fatalf("%s holds %q", f, raw)
		}
		data, err := base64.StdEncoding.DecodeString(u.Query().Get("data"))
		if err != nil {
			t.Fatal(err)
		}
		msg := dynamicpb.NewMessage(schema)
		if err := proto.Unmarshal(data, msg); err != nil {
			t.Fatal(err)
		}
		fields := schema.Fields()
		if n := msg.Get(fields.ByName("batch_size")).Int(); n != 3 {
			t.Errorf("batch_size %d, want 3", n)
		}
		id := msg.Get(fields.ByName("batch_id")).Int()
		if batchID != -1 && id != batchID {
			t.Errorf("batch ids differ: %d, %d", id, batchID)
		}
		batchID = id
		indexes[msg.Get(fields.ByName("batch_index")).Int()] = true
		list := msg.Get(fields.ByName("otp_parameters")).List()
		if list.Len() > 10 {
			t.Errorf("%s holds %d accounts, Google's app puts at most 10 in a code", f, list.Len())
		}
		for j := 0; j < list.Len(); j++ {
			p := list.Get(j).Message()
			pf := p.Descriptor().Fields()
			enumName := func(name string) string {
				fd := pf.ByName(protoreflect.Name(name))
				return string(fd.Enum().Values().ByNumber(p.Get(fd).Enum()).Name())
			}
			sec := (&totp.Key{Secret: p.Get(pf.ByName("secret")).Bytes()}).SecretBase32()
			got[p.Get(pf.ByName("issuer")).String()+"|"+p.Get(pf.ByName("name")).String()] =
				sec + "|" + enumName("algorithm") + "|" + enumName("digits") + "|" + enumName("type") + "|" + strconv.FormatInt(p.Get(pf.ByName("counter")).Int(), 10)
		}
	}
	if len(indexes) != 3 || !indexes[0] || !indexes[1] || !indexes[2] {
		t.Errorf("batch indexes %v, want 0, 1, 2", indexes)
	}
	if len(got) != len(want) {
		t.Errorf("%d accounts in the codes, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: in the codes %q, want %q", k, got[k], w)
		}
	}
}

func TestExportURIsAndTextFiles(t *testing.T) {
	c := newCLI(t)
	uris := mixedAccounts(t, c)
	file := filepath.Join(t.TempDir(), "accounts.txt")
	if _, _, err := c.runIn("", "export", "--uris", file); err == nil || !strings.Contains(err.Error(), "--i-understand-plain") {
		t.Fatalf("plain export without the flag: %v", err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("the refused plain export wrote a file")
	}
	out, errOut := c.okIn("", "export", "--uris", file, "--i-understand-plain")
	if !strings.Contains(out, "exported 5 accounts") || !strings.Contains(errOut, "plain text") {
		t.Errorf("printed %q, warned %q", out, errOut)
	}
	if info, _ := os.Stat(file); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	data, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != len(uris) {
		t.Fatalf("%d lines, want %d", len(lines), len(uris))
	}
	// Read back through a .txt file with a bad line in the middle.
	bad := filepath.Join(t.TempDir(), "mixed.txt")
	os.WriteFile(bad, []byte(lines[0]+"\n"+lines[1]+"\nnot a key\n"+strings.Join(lines[2:], "\n")+"\n"), 0o600)
	other := newCLI(t)
	out, errOut = other.okIn("", "add", "--backup", bad)
	if strings.Count(out, "added ") != 5 || !strings.Contains(errOut, "line 3: ") {
		t.Errorf("add --backup .txt printed %q, warned %q", out, errOut)
	}
	if strings.Join(other.accountsIn(), "\n") != strings.Join(c.accountsIn(), "\n") {
		t.Error("the accounts read back from the URI file differ")
	}
}

func TestShortSecretWarning(t *testing.T) {
	c := newCLI(t)
	_, errOut := c.okIn("", "add", "otpauth://totp/Old:me?secret=JBSWY3DPEHPK")
	if !strings.Contains(errOut, "only 56 bits") || strings.Contains(errOut, "JBSWY3DPEHPK") {
		t.Errorf("warning %q: want the bit count, never the secret", errOut)
	}
	if got := c.accountsIn(); len(got) != 1 {
		t.Errorf("the short-secret account was not added: %q", got)
	}
}

func TestAutomaticBackups(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(t.TempDir(), "backups")
	if out := c.ok("backup-dir"); !strings.Contains(out, "off") {
		t.Errorf("backup-dir before: %q", out)
	}
	if _, _, err := c.runIn("\n", "backup-dir", dir); err == nil || !strings.Contains(err.Error(), "password is empty") {
		t.Fatalf("empty backup password: %v", err)
	}
	c.okIn("bk pass\n", "backup-dir", dir, "--keep", "3")
	if secretTool(t, "service", "twofold-backup") != 1 {
		t.Errorf("the backup password is not in the keyring as its own item")
	}
	if out := c.ok("backup-dir"); !strings.Contains(out, dir) || !strings.Contains(out, "last 3") {
		t.Errorf("backup-dir: %q", out)
	}
	count := func() []string {
		names, _ := filepath.Glob(filepath.Join(dir, "twofold-backup-*.json"))
		return names
	}
	if n := len(count()); n != 1 {
		t.Fatalf("%d backups after turning them on, want 1", n)
	}
	uris := mixedAccounts(t, c)       // 5 changes
	c.ok("code", "GitHub:joe")        // a TOTP code changes nothing
	c.ok("code", "Blue Sky:benjamin") // an HOTP code moves the counter
	c.ok("remove", "solo")            // 7 changes in all
	names := count()
	if len(names) != 3 {
		t.Fatalf("%d backups after 7 changes, want the last 3", len(names))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%d files in the folder, want only the 3 backups", len(entries))
	}
	for _, n := range names {
		data, _ := os.ReadFile(n)
		for label, uri := range uris {
			k, _ := totp.ParseURI(uri)
			if bytes.Contains(data, []byte(k.SecretBase32())) || bytes.Contains(data, k.Secret) {
				t.Fatalf("%s holds %s's secret in plain", n, label)
			}
		}
		restored := newCLI(t)
		if _, _, err := restored.runIn("wrong\n", "add", "--backup", n); err == nil {
			t.Fatalf("%s opened with a wrong password", n)
		}
		out, _ := restored.okIn("bk pass\n", "add", "--backup", n)
		if strings.Count(out, "added ") < 4 {
			t.Errorf("%s restored %q", filepath.Base(n), out)
		}
	}
	last := newCLI(t)
	last.okIn("bk pass\n", "add", "--backup", names[2])
	if strings.Join(last.accountsIn(), "\n") != strings.Join(c.accountsIn(), "\n") {
		t.Errorf("the newest backup\n%s\nthe accounts\n%s", strings.Join(last.accountsIn(), "\n"), strings.Join(c.accountsIn(), "\n"))
	}
	if out := c.ok("backup-dir", "--off"); !strings.Contains(out, "off") {
		t.Errorf("--off printed %q", out)
	}
	if secretTool(t, "service", "twofold-backup") != 0 {
		t.Error("the backup password stayed in the keyring after --off")
	}
	c.ok("add", "otpauth://totp/After:off?secret="+secret(t))
	if n := len(count()); n != 3 {
		t.Errorf("a change after --off wrote a backup: %d files", n)
	}
}

// transcript collects what a program writes, for waiting on a prompt.
type transcript struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *transcript) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *transcript) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *transcript) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(w.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", s, w.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPasswordOnATerminal runs the real binary on a pseudo-terminal
// (util-linux script): the password is asked twice and never echoed.
func TestPasswordOnATerminal(t *testing.T) {
	need(t, "script")
	c := newCLI(t)
	c.ok("add", "otpauth://totp/Term:inal?secret="+secret(t))
	bin := buildBinary(t)
	export := func(first, second string) (string, string) {
		file := filepath.Join(t.TempDir(), "tty.json")
		cmd := exec.Command("script", "-q", "-e", "-c", bin+" -config "+c.dir+" export --encrypted "+file, "/dev/null")
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out := &transcript{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		out.waitFor(t, "New password for the backup tty.json: ")
		io.WriteString(in, first+"\r")
		out.waitFor(t, "The same password again: ")
		io.WriteString(in, second+"\r")
		cmd.Wait()
		return out.String(), file
	}
	out, file := export("tty pass 1", "tty pass 1")
	if strings.Contains(out, "tty pass") {
		t.Errorf("the password was echoed: %q", out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no backup written: %v (%q)", err, out)
	}
	if _, err := vaulttest.DecryptAegis(t, data, "tty pass 1"); err != nil {
		t.Fatal(err)
	}
	out, file = export("tty pass 1", "tty pass 2")
	if !strings.Contains(out, "the two passwords differ") {
		t.Errorf("differing passwords: %q", out)
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("differing passwords wrote a file")
	}
}

func TestAddSeveralURIsInOneArgument(t *testing.T) {
	c := newCLI(t)
	out, errOut := c.okIn("", "add", "otpauth://totp/A:one?secret="+secret(t)+"\nnot a key\notpauth://totp/B:two?secret="+secret(t))
	if strings.Count(out, "added ") != 2 || !strings.Contains(errOut, "skipped line 2: ") {
		t.Errorf("printed %q, warned %q", out, errOut)
	}
}

// A user's mistakes get messages in their words: no system call, Go
// package or temporary file name; nothing is asked that cannot be used
// (a password for a file that cannot be written) and nothing is kept.
func TestMistakesAreSaidInWords(t *testing.T) {
	c := newCLI(t)
	tmp := t.TempDir()
	garbage := filepath.Join(tmp, "garbage.json")
	os.WriteFile(garbage, []byte("\x00\x01 not a backup"), 0o600)
	backup := filepath.Join(tmp, "backup.json")
	s1, s2 := secret(t), secret(t)
	c.ok("add", "otpauth://totp/GitHub:joe?secret="+s1, "otpauth://totp/Mail:joe?secret="+s2)
	c.okIn("pw\n", "export", "--encrypted", backup)
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"add", "--backup", filepath.Join(tmp, "nothere.json")}, "add --backup: cannot read " + filepath.Join(tmp, "nothere.json") + ": no such file"},
		{"", []string{"add", "--backup", tmp}, "cannot read " + tmp + ": it is a folder, not a file"},
		{"", []string{"add", "--image", filepath.Join(tmp, "nothere.png")}, "cannot read " + filepath.Join(tmp, "nothere.png") + ": no such file"},
		{"", []string{"add", "--backup", garbage}, "not an authenticator key"},
		{"wrong\n", []string{"add", "--backup", backup}, "wrong password for this backup"},
		{"", []string{"add", "--backup", backup}, "this backup is encrypted: its password is needed"},
		{"pw\n", []string{"add", "--backup", backup}, "nothing added: the 2 accounts are already there"},
		{"pw\n", []string{"export", "--encrypted", filepath.Join(tmp, "no", "such", "x.json")}, "export: cannot write " + filepath.Join(tmp, "no", "such", "x.json") + ": the folder " + filepath.Join(tmp, "no", "such") + " does not exist"},
		{"pw\n", []string{"export", "--encrypted", filepath.Join(garbage, "x.json")}, "a part of the path is a file, not a folder"},
		{"", []string{"export", "--google-authenticator", filepath.Join(garbage, "ga")}, "export: cannot create the folder " + filepath.Join(garbage, "ga")},
		{"", []string{"export", "--bogus"}, "export: unknown option -bogus (try: twofold help)"},
		{"pw\n", []string{"backup-dir", tmp, "--keep", "abc"}, `backup-dir: "abc" is not a valid value for -keep`},
		{"pw\n", []string{"backup-dir", filepath.Join(garbage, "bk")}, "cannot create the folder " + filepath.Join(garbage, "bk")},
		{"", []string{"add", "otpauth://totp/GitHub:joe?secret=" + secret(t)}, "add it again with --replace"},
		{"", []string{"add", s1}, "looks like a bare secret key"},
	} {
		_, _, err := c.runIn(tc.stdin, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("twofold %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
			continue
		}
		for _, internal := range []string{"open ", "mkdir ", ".tmp", "flag provided", "no such file or directory", "parse error", s1} {
			if strings.Contains(err.Error(), internal) {
				t.Errorf("twofold %s: %q shows %q", strings.Join(tc.args, " "), err, internal)
			}
		}
	}
	if got := c.accountsIn(); len(got) != 2 {
		t.Errorf("the mistakes changed the accounts: %q", got)
	}
	if temps, _ := filepath.Glob(filepath.Join(tmp, ".*")); len(temps) != 0 {
		t.Errorf("temporary files left: %q", temps)
	}
	// The refusal of a taken label says to add again with --replace: a
	// user appends it after the URI, and that works.
	s3 := secret(t)
	if out, _ := c.okIn("", "add", "otpauth://totp/GitHub:joe?secret="+s3, "--replace"); out != "added GitHub:joe\n" {
		t.Errorf("--replace after the URI printed %q", out)
	}
	if got, want := c.ok("code", "GitHub"), oathtool(t, "--totp", "-b", "-N", "@1700000015", s3); got != want+"\n" {
		t.Errorf("after --replace: code %q, oathtool %q", got, want)
	}
}
