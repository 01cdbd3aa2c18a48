package portal

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// MailConfig turns on the features that send mail. The zero value (no
// SMTP server configured) turns them off: an account then has no e-mail
// address and nothing is queued.
type MailConfig struct {
	Enabled bool
	// PublicURL is the portal's address as users reach it, for the links
	// in mail: https://portal.example.com (no trailing slash).
	PublicURL string
}

// ConfirmEmailFor is how long an address confirmation link works.
const ConfirmEmailFor = 24 * time.Hour

// MaxEmailLen bounds an address (RFC 5321's path limit).
const MaxEmailLen = 254

var errNoMail = Errorf(EINVALID, "This portal sends no e-mail (no mail server is configured), so it keeps no e-mail address. Leave the address empty.")

// NormalizeEmail checks an address typed by a user and returns it bare
// (no display name), with the domain lower-cased.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := Errorf(EINVALID, "Enter an e-mail address like name@example.com.")
	if s == "" || len(s) > MaxEmailLen || strings.ContainsAny(s, " <>\",;\r\n\t") {
		return "", bad
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") {
		return "", bad
	}
	return s[:at] + "@" + strings.ToLower(s[at+1:]), nil
}

// MailEnabled reports whether the portal sends mail.
func (s *Service) MailEnabled() bool { return s.cfg.Mail.Enabled }

// randomToken returns n random bytes, URL-safe base64.
func randomToken(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("reading random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// link is an absolute address on the portal with the token as query.
func (s *Service) link(path, token string) string {
	return strings.TrimRight(s.cfg.Mail.PublicURL, "/") + path + "?" + url.Values{"token": {token}}.Encode()
}

// queue renders n for u and inserts it into the outbox of the store s
// holds: inside atomic, the transaction of the change it reports. No
// mail when the portal sends none or to is empty.
func (s *Service) queue(ctx context.Context, to string, n notice) error {
	if !s.cfg.Mail.Enabled || to == "" {
		return nil
	}
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return fmt.Errorf("reading random: %w", err)
	}
	host := "twofold.invalid"
	if u, err := url.Parse(s.cfg.Mail.PublicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	text, html, err := n.render(s.cfg.Issuer)
	if err != nil {
		return err
	}
	m := &Mail{MessageID: hex.EncodeToString(b[:]) + "@" + host, To: to, Subject: n.Subject, Text: text, HTML: html, CreatedAt: s.now()}
	if err := s.keys.SealMail(s.rand, m); err != nil {
		return err
	}
	if err := s.store.EnqueueMail(ctx, m); err != nil {
		return fmt.Errorf("queueing mail: %w", err)
	}
	return nil
}

// sendConfirmation stores a new confirmation token for address and
// queues its link, inside the caller's transaction.
func (s *Service) sendConfirmation(ctx context.Context, u *User, address string) error {
	token, err := randomToken(s.rand, 32)
	if err != nil {
		return err
	}
	now := s.now()
	if err := s.store.DeleteMailTokens(ctx, u.ID, TokenConfirmEmail, now); err != nil {
		return err
	}
	if err := s.store.AddMailToken(ctx, &MailToken{Hash: HashToken(token), UserID: u.ID, Purpose: TokenConfirmEmail,
		Address: address, CreatedAt: now, ExpiresAt: now.Add(ConfirmEmailFor)}); err != nil {
		return fmt.Errorf("storing confirmation token: %w", err)
	}
	return s.queue(ctx, address, confirmNotice(u, s.link("/email/confirm", token)))
}

// ConfirmEmail follows a confirmation link: the pending address becomes
// the account's address. The old address, if any, is told of the change.
func (s *Service) ConfirmEmail(ctx context.Context, token, ip string) (*User, error) {
	bad := Errorf(EINVALID, "This confirmation link is not valid: it was used already, it expired, or a newer one was sent. Ask for a new one in Security Settings.")
	if token == "" || len(token) > 128 {
		return nil, bad
	}
	var u *User
	err := s.atomic(ctx, func(t *Service) error {
		tok, err := t.store.TakeMailToken(ctx, HashToken(token), TokenConfirmEmail, t.now())
		if errors.Is(err, ErrNotFound) {
			return bad
		} else if err != nil {
			return fmt.Errorf("taking confirmation token: %w", err)
		}
		if u, err = t.store.UserByID(ctx, tok.UserID); err != nil {
			return fmt.Errorf("finding user: %w", err)
		}
		if err := t.store.ConfirmEmail(ctx, u.ID, tok.Address); errors.Is(err, ErrConflict) {
			return bad
		} else if err != nil {
			return err
		}
		old := u.Email
		u.Email, u.EmailPending = tok.Address, ""
		if old == "" {
			return t.event(ctx, u.ID, EventEmailConfirmed, ip)
		}
		if err := t.event(ctx, u.ID, EventEmailChanged, ip); err != nil {
			return err
		}
		if old != tok.Address {
			return t.queue(ctx, old, emailChangedNotice(u, old, tok.Address))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ChangeEmail starts a change of the signed-in user's address: it needs
// a recent password, the one given here (checked within the signed-in
// limits) or one entered in this session within the sudo window. The
// new address is used once its link is followed; the old one stays in
// use until then, and is told when the change is made.
func (s *Service) ChangeEmail(ctx context.Context, sess *Session, address, password, ip string) error {
	if !s.cfg.Mail.Enabled {
		return errNoMail
	}
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return err
	}
	if address, err = NormalizeEmail(address); err != nil {
		return err
	}
	if password == "" {
		if err := s.sudo(sess); err != nil {
			return err
		}
	} else if len(password) > 4*MaxPasswordLen {
		return Errorf(EUNAUTHORIZED, "Wrong password.")
	} else if err := s.checkSignedIn(ctx, u, password, ip); err != nil {
		if ErrorCode(err) == EUNAUTHORIZED {
			return Errorf(EUNAUTHORIZED, "Wrong password.")
		}
		return err
	}
	if address == u.Email {
		return Errorf(EINVALID, "That is already your e-mail address.")
	}
	return s.atomic(ctx, func(t *Service) error {
		if err := t.store.SetEmailPending(ctx, u.ID, address); err != nil {
			return fmt.Errorf("storing pending address: %w", err)
		}
		if err := t.event(ctx, u.ID, EventEmailChangeAsked, ip); err != nil {
			return err
		}
		return t.sendConfirmation(ctx, u, address)
	})
}

// ResendConfirmation sends a new link for the pending address.
func (s *Service) ResendConfirmation(ctx context.Context, sess *Session, ip string) error {
	if !s.cfg.Mail.Enabled {
		return errNoMail
	}
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return err
	}
	if u.EmailPending == "" {
		return Errorf(EINVALID, "No e-mail address is waiting for confirmation.")
	}
	// Bounded like sign-ups, per account: each link is a message.
	if _, err := s.take(ctx, fmt.Sprintf("mail:confirm:%d", u.ID), s.now(), s.cfg.MailLimit); err != nil {
		return err
	}
	return s.atomic(ctx, func(t *Service) error { return t.sendConfirmation(ctx, u, u.EmailPending) })
}

// KeepSentMail is how long a sent message's row (recipient, subject,
// Message-ID, times; its bodies are emptied at sending) stays in the
// outbox, for an operator looking into a complaint.
const KeepSentMail = 30 * 24 * time.Hour

// PruneMail deletes the outbox rows sent more than KeepSentMail ago (and
// those never sent in that time) and the expired mail tokens, and says
// how many outbox rows it deleted.
func (s *Service) PruneMail(ctx context.Context) (int, error) {
	n, err := s.prune(ctx, PruneSentMail, PruneUnsentMail, PruneMailTokens)
	return n[PruneSentMail] + n[PruneUnsentMail], err
}
