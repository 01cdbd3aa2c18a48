package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"twofold.dev/server/portal"
	"twofold.dev/server/sqlite"
)

func TestMailFlags(t *testing.T) {
	ok := []string{"x", "--smtp-addr", "127.0.0.1:2525", "--smtp-tls", "none", "--mail-from", "Portal <portal@example.com>", "--public-url", "https://portal.example.com"}
	cfg, _, err := parseFlags(ok, env(nil), io.Discard)
	if err != nil || cfg.SMTPAddr != "127.0.0.1:2525" || cfg.SMTPTLS != "none" || cfg.PublicURL != "https://portal.example.com" {
		t.Fatalf("flags: %+v, %v", cfg, err)
	}
	cfg, _, err = parseFlags([]string{"x"}, env(map[string]string{"TWOFOLD_SMTP_ADDR": "smtp.example.com:587", "TWOFOLD_MAIL_FROM": "portal@example.com",
		"TWOFOLD_PUBLIC_URL": "https://portal.example.com", "TWOFOLD_SMTP_USER": "portal", "TWOFOLD_SMTP_PASSWORD_FILE": "/run/secrets/smtp"}), io.Discard)
	if err != nil || cfg.SMTPTLS != "starttls" || cfg.SMTPUser != "portal" || cfg.SMTPPasswordFile != "/run/secrets/smtp" {
		t.Errorf("variables: %+v, %v; want starttls by default", cfg, err)
	}
	cfg, _, err = parseFlags([]string{"x"}, env(nil), io.Discard)
	if err != nil || cfg.SMTPAddr != "" {
		t.Errorf("default: %+v, %v; want no mail", cfg, err)
	}
	base := []string{"x", "--mail-from", "portal@example.com", "--public-url", "https://portal.example.com"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{append(base, "--smtp-addr", "smtp.example.com:25", "--smtp-tls", "none"), "only to a loopback address"},
		{append(base, "--smtp-addr", "smtp.example.com:25", "--smtp-tls", "ssl"), "want starttls, tls or none"},
		{[]string{"x", "--smtp-addr", "smtp.example.com:587", "--mail-from", "portal@example.com"}, "needs --public-url"},
		{[]string{"x", "--smtp-addr", "smtp.example.com:587", "--public-url", "https://portal.example.com"}, "needs --mail-from"},
		{append(base, "--smtp-addr", "smtp.example.com:587", "--public-url", "portal.example.com"), "--public-url"},
		{append(base, "--smtp-addr", "smtp.example.com:587", "--smtp-user", "portal"), "go together"},
		{[]string{"x", "--mail-from", "portal@example.com"}, "need --smtp-addr"},
		{[]string{"x", "--smtp-password", "secret"}, "flag provided but not defined"},
	} {
		if _, _, err := parseFlags(tt.args, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error naming %q", tt.args, err, tt.want)
		}
	}
	// The password file: its first line; never empty.
	dir := t.TempDir()
	pf := filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(pf, []byte("s3cret\r\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := smtpClient(&Config{SMTPAddr: "smtp.example.com:587", SMTPTLS: "starttls", SMTPUser: "u", SMTPPasswordFile: pf, MailFrom: "a@example.com"}); err != nil {
		t.Errorf("smtpClient: %v", err)
	}
	os.WriteFile(pf, []byte("\n"), 0o600)
	if _, err := smtpClient(&Config{SMTPAddr: "smtp.example.com:587", SMTPTLS: "starttls", SMTPUser: "u", SMTPPasswordFile: pf, MailFrom: "a@example.com"}); err == nil {
		t.Error("an empty password file was taken")
	}
}

// "user add --email" queues the confirmation link (the running portal
// sends it); without the SMTP flags it says the portal sends no mail.
func TestUserAddEmail(t *testing.T) {
	dir := t.TempDir()
	initData(t, dir)
	cli := adminCLI(t, dir)
	const pw = "a long enough password"
	if _, err := cli("user", "add", "joe", "--email", "joe@example.com", "--password", pw); err == nil || !strings.Contains(err.Error(), "sends no e-mail") {
		t.Errorf("user add --email without SMTP: %v", err)
	}
	mailFlags := []string{"--smtp-addr", "127.0.0.1:1", "--smtp-tls", "none", "--mail-from", "portal@example.com", "--public-url", "https://portal.example.com"}
	out, err := cli(append(mailFlags, "user", "add", "joe", "--email", "joe@example.com", "--password", pw)...)
	if err != nil || !strings.Contains(out, "a confirmation link to joe@example.com is queued") {
		t.Fatalf("user add --email: %v %q", err, out)
	}
	if out, err := cli("user", "list"); err != nil || !strings.Contains(out, "joe@example.com (unconfirmed)") || !strings.Contains(out, "E-MAIL") {
		t.Errorf("user list: %v\n%s", err, out)
	}
	if _, err := cli(append(mailFlags, "user", "add", "ann", "--email", "ann at example", "--password", pw)...); err == nil || !strings.Contains(err.Error(), "e-mail address like") {
		t.Errorf("user add with a bad address: %v", err)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByName(t.Context(), "joe")
	if err != nil || u.EmailPending != "joe@example.com" || u.Email != "" {
		t.Fatalf("joe: %+v, %v", u, err)
	}
	ms, err := db.ClaimMail(t.Context(), u.CreatedAt.AddDate(0, 0, 1), 1, 10)
	if err != nil || len(ms) != 1 || ms[0].To != "joe@example.com" {
		t.Fatalf("outbox: %v, %v", ms, err)
	}
	// Sealed in the database; the portal's key opens it.
	if strings.Contains(ms[0].Text, "token=") {
		t.Fatalf("the queued link is readable in the database: %q", ms[0].Text)
	}
	keys := keysIn(t, dir)
	if err := keys.OpenMail(ms[0]); err != nil || !strings.Contains(ms[0].Text, "https://portal.example.com/email/confirm?token=") {
		t.Fatalf("opened: %q, %v", ms[0].Text, err)
	}
	if _, err := db.UserByName(t.Context(), "ann"); err != portal.ErrNotFound {
		t.Errorf("ann was added with a bad address: %v", err)
	}
}
