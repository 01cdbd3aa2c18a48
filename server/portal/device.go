package portal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Device cookies, after OWASP's "Slow Down Online Guessing Attacks with
// Device Cookies": a browser that completed sign-in to an account (every
// factor) gets a signed token naming the account and a random nonce. A
// password attempt that carries a valid token for its account is counted
// on that device's own counter; every other attempt is counted on the
// counters of unknown clients (per account and per address). Guesses from
// elsewhere therefore lock out unknown clients only, never the owner's
// browser, and a stolen token buys the thief one small budget.

// DeviceToken returns a new device token for the user of a fully
// signed-in session, "" for any other session. u is that user when the
// caller has read it already (nil: read it).
func (s *Service) DeviceToken(ctx context.Context, sess *Session, u *User) (string, error) {
	if sess == nil || sess.Stage != StageFull {
		return "", nil
	}
	u, err := s.sessionUser(ctx, sess, u)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return "", fmt.Errorf("reading device nonce: %w", err)
	}
	n := base64.RawURLEncoding.EncodeToString(nonce)
	return "v1." + strconv.FormatInt(u.ID, 10) + "." + n + "." + s.keys.signDevice(u.ID, u.Username, n), nil
}

// sessionUser is u when it is the user of sess, else the stored user of
// sess: a caller that read the user with the session passes it on rather
// than have it read again.
func (s *Service) sessionUser(ctx context.Context, sess *Session, u *User) (*User, error) {
	if u != nil && u.ID == sess.UserID {
		return u, nil
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	return u, nil
}

// deviceNonce returns the nonce of a valid device token of user u, "" for
// a missing, foreign or forged one.
func (s *Service) deviceNonce(token string, u *User) string {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != "v1" || parts[1] != strconv.FormatInt(u.ID, 10) || len(parts[2]) != 22 {
		return ""
	}
	want := s.keys.signDevice(u.ID, u.Username, parts[2])
	if !hmac.Equal([]byte(parts[3]), []byte(want)) {
		return ""
	}
	return parts[2]
}

func (k *Keys) signDevice(userID int64, username, nonce string) string {
	m := hmac.New(sha256.New, k.device)
	m.Write(aad(userID))
	m.Write([]byte{0})
	m.Write([]byte(username))
	m.Write([]byte{0})
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func deviceKeyPrefix(userID int64) string { return "pw:device:" + strconv.FormatInt(userID, 10) + ":" }

// signedInKey counts password re-entries of a signed-in session (sudo,
// change of password, turning 2FA off): the session proves the client
// is the owner's, so unknown clients' failures do not block it.
func signedInKey(userID int64) string { return "pw:signedin:" + strconv.FormatInt(userID, 10) }
