package portal

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Remembered devices ("Don't ask again on this computer for 30 days"): a
// browser that finished sign-in with a code from the app, and asked to,
// gets a random token of its own, per account; the store keeps only its
// SHA-256 hash. A later sign-in from that browser with the right password
// skips the code. Not to be confused with the device cookies of device.go
// (OWASP's, for the password lockout), which every browser that signed in
// gets and which never skip a factor.

// RememberFor is how long a remembered device skips the code, counted
// from the sign-in that remembered it.
const RememberFor = 30 * 24 * time.Hour

// RememberedDevice is a browser that need not give a code for one account.
type RememberedDevice struct {
	ID         int64 // shown in Security Settings to forget this one
	UserID     int64
	TokenHash  []byte // SHA-256 of the cookie token
	Browser    string // from the User-Agent, shortened
	CreatedAt  time.Time
	LastUsedAt time.Time
	IP         string // of the last use
}

// ExpiresAt is when the device stops skipping the code.
func (d *RememberedDevice) ExpiresAt() time.Time { return d.CreatedAt.Add(RememberFor) }

// Browser shortens a User-Agent to the browser and system a person
// recognises ("Firefox on Linux"), or its first 64 characters.
func Browser(userAgent string) string {
	ua := strings.ToValidUTF8(userAgent, "")
	name := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"},
		{"HeadlessChrome/", "Chrome (headless)"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			name = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	switch {
	case name != "" && system != "":
		return name + " on " + system
	case name != "":
		return name
	case system != "":
		return "A browser on " + system
	}
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return "Unknown browser"
	}
	if utf8.RuneCountInString(ua) > 64 {
		ua = string([]rune(ua)[:64]) + "…"
	}
	return ua
}

// rememberDevice stores a new remembered device for u and returns the
// token for its cookie.
func (s *Service) rememberDevice(ctx context.Context, u *User, userAgent, ip string) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	d := &RememberedDevice{UserID: u.ID, TokenHash: HashToken(token), Browser: Browser(userAgent), CreatedAt: now, LastUsedAt: now, IP: ip}
	if err := s.store.AddRememberedDevice(ctx, d); err != nil {
		return "", fmt.Errorf("remembering device: %w", err)
	}
	if err := s.event(ctx, u.ID, EventDeviceRemembered, ip); err != nil {
		return "", err
	}
	return token, nil
}

// rememberedDevice returns u's live remembered device of the cookie token,
// nil for a missing, expired, forged or another account's token.
func (s *Service) rememberedDevice(ctx context.Context, u *User, token string) (*RememberedDevice, error) {
	if token == "" || len(token) > 128 {
		return nil, nil
	}
	hash := HashToken(token)
	d, err := s.store.RememberedDevice(ctx, u.ID, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("finding remembered device: %w", err)
	}
	if subtle.ConstantTimeCompare(d.TokenHash, hash) != 1 || d.UserID != u.ID || !s.now().Before(d.ExpiresAt()) {
		return nil, nil
	}
	return d, nil
}

// RememberedDevices lists the devices that skip the code for the
// signed-in user, last used first; expired ones are not listed.
func (s *Service) RememberedDevices(ctx context.Context, sess *Session) ([]*RememberedDevice, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	return s.liveDevices(ctx, u.ID)
}

func (s *Service) liveDevices(ctx context.Context, userID int64) ([]*RememberedDevice, error) {
	all, err := s.store.RememberedDevices(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("listing remembered devices: %w", err)
	}
	now := s.now()
	live := all[:0]
	for _, d := range all {
		if now.Before(d.ExpiresAt()) {
			live = append(live, d)
		}
	}
	return live, nil
}

// ForgetDevice forgets one remembered device of the signed-in user: that
// browser is asked for a code again. Like signing out, it needs no recent
// password: it only ever asks for more.
func (s *Service) ForgetDevice(ctx context.Context, sess *Session, id int64, ip string) error {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return err
	}
	n, err := s.store.DeleteRememberedDevices(ctx, u.ID, id)
	if err != nil {
		return fmt.Errorf("forgetting device: %w", err)
	}
	if n == 0 {
		return Errorf(ENOTFOUND, "That device is not remembered (any more).")
	}
	return s.event(ctx, u.ID, EventDeviceForgotten, ip)
}

// ForgetAllDevices forgets every remembered device of the signed-in user
// and says how many there were.
func (s *Service) ForgetAllDevices(ctx context.Context, sess *Session, ip string) (int, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return 0, err
	}
	return s.forgetDevices(ctx, u.ID, ip)
}

// ForgetDevicesOf is the staff's "forget all" (admin CLI).
func (s *Service) ForgetDevicesOf(ctx context.Context, name string) (int, error) {
	u, err := s.userByName(ctx, name)
	if err != nil {
		return 0, err
	}
	return s.forgetDevices(ctx, u.ID, "admin")
}

// forgetDevices forgets all of a user's remembered devices, recording it
// when there were any: after every change that must ask for a code again
// (password changed, 2FA off or reset, recovery codes used or replaced).
func (s *Service) forgetDevices(ctx context.Context, userID int64, ip string) (int, error) {
	n, err := s.store.DeleteRememberedDevices(ctx, userID, 0)
	if err != nil {
		return 0, fmt.Errorf("forgetting remembered devices: %w", err)
	}
	if n > 0 {
		if err := s.event(ctx, userID, EventDeviceForgotten, ip); err != nil {
			return 0, err
		}
	}
	return n, nil
}
