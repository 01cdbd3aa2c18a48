package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"twofold.dev/shared/totp"
)

// Config holds the policy of the portal.
type Config struct {
	Issuer   string // shown in authenticator apps
	Signup   bool   // self-service sign-up allowed
	Password PasswordParams

	IdleTimeout     time.Duration // a session unused this long ends
	AbsoluteTimeout time.Duration // a session ends this long after sign-in
	PendingTimeout  time.Duration // time to enter the code after the password
	SudoWindow      time.Duration // how long an entered password allows factor changes

	CodeLimit     Limit // per account, codes and recovery codes together
	PasswordLimit Limit // per account
	IPLimit       Limit // passwords per client IP
}

// DefaultConfig returns the production policy.
func DefaultConfig() Config {
	return Config{
		Issuer:          "Twofold Portal",
		Signup:          true,
		Password:        OWASPParams,
		IdleTimeout:     30 * time.Minute,
		AbsoluteTimeout: 12 * time.Hour,
		PendingTimeout:  10 * time.Minute,
		SudoWindow:      10 * time.Minute,
		CodeLimit:       DefaultLimit,
		PasswordLimit:   DefaultLimit,
		IPLimit:         DefaultIPLimit,
	}
}

// Service is the portal's logic on top of a Store.
type Service struct {
	store Store
	keys  *Keys
	cfg   Config
	now   func() time.Time
	rand  io.Reader
	// dummyHash is checked for unknown users so that they take as long as
	// known ones.
	dummyHash string
	// hashing bounds the argon2id computations running at once (each
	// takes Password.Memory), so a burst of sign-ins cannot exhaust memory.
	hashing chan struct{}
}

// NewService builds a Service. now and rand may be nil for the real clock
// and crypto/rand.
func NewService(store Store, keys *Keys, cfg Config, now func() time.Time, random io.Reader) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	if random == nil {
		random = rand.Reader
	}
	dummy, err := HashPassword(random, cfg.Password, "twofold dummy password")
	if err != nil {
		return nil, err
	}
	return &Service{store: store, keys: keys, cfg: cfg, now: now, rand: random, dummyHash: dummy,
		hashing: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}, nil
}

// hashSlot waits for a free argon2id slot; release it when done.
func (s *Service) hashSlot(ctx context.Context) (release func(), err error) {
	select {
	case s.hashing <- struct{}{}:
		return func() { <-s.hashing }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(s.rand, s.cfg.Password, password)
}

func (s *Service) checkHash(ctx context.Context, hash, password string) (bool, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return CheckPassword(hash, password)
}

// Config returns the policy the service runs with.
func (s *Service) Config() Config { return s.cfg }

// Now is the service clock.
func (s *Service) Now() time.Time { return s.now() }

// Limits on input.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
	MaxDisplayLen  = 64
)

// NormalizeUsername trims and lower-cases a username.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validUsername(s string) error {
	if !utf8.ValidString(s) || len(s) < 3 || len(s) > 32 {
		return Errorf(EINVALID, "A username has 3 to 32 characters: letters a-z, digits, dot, dash or underscore.")
	}
	for i, r := range s {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || (i > 0 && (r == '.' || r == '-' || r == '_'))
		if !ok {
			return Errorf(EINVALID, "A username has 3 to 32 characters: letters a-z, digits, dot, dash or underscore, and starts with a letter or digit.")
		}
	}
	return nil
}

func validDisplayName(s string) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "The display name is not valid text.")
	}
	n := utf8.RuneCountInString(s)
	if n == 0 || n > MaxDisplayLen {
		return Errorf(EINVALID, "Enter a display name of 1 to %d characters.", MaxDisplayLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return Errorf(EINVALID, "The display name cannot contain control characters.")
		}
	}
	return nil
}

func validPassword(p string) error {
	if !utf8.ValidString(p) {
		return Errorf(EINVALID, "The password is not valid text.")
	}
	n := utf8.RuneCountInString(p)
	if n < MinPasswordLen {
		return Errorf(EINVALID, "Choose a password of at least %d characters.", MinPasswordLen)
	}
	if n > MaxPasswordLen {
		return Errorf(EINVALID, "A password has at most %d characters.", MaxPasswordLen)
	}
	return nil
}

// SignUp creates an account (when sign-up is open).
func (s *Service) SignUp(ctx context.Context, username, displayName, password, confirm, ip string) (*User, error) {
	if !s.cfg.Signup {
		return nil, Errorf(EFORBIDDEN, "Sign-up is closed on this portal. Ask an administrator for an account.")
	}
	if password != confirm {
		return nil, Errorf(EINVALID, "The two passwords do not match.")
	}
	u, err := s.AddUser(ctx, username, displayName, password)
	if err != nil {
		return nil, err
	}
	if err := s.event(ctx, u.ID, EventSignUp, ip); err != nil {
		return nil, err
	}
	return u, nil
}

// AddUser creates an account without the sign-up switch (admin CLI).
func (s *Service) AddUser(ctx context.Context, username, displayName, password string) (*User, error) {
	username = NormalizeUsername(username)
	displayName = strings.TrimSpace(displayName)
	if err := validUsername(username); err != nil {
		return nil, err
	}
	if displayName == "" {
		displayName = username
	}
	if err := validDisplayName(displayName); err != nil {
		return nil, err
	}
	if err := validPassword(password); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	u := &User{Username: username, DisplayName: displayName, PasswordHash: hash, CreatedAt: s.now()}
	if err := s.store.CreateUser(ctx, u); errors.Is(err, ErrConflict) {
		return nil, Errorf(ECONFLICT, "That username is taken. Choose another one.")
	} else if err != nil {
		return nil, fmt.Errorf("creating user: %w", err)
	}
	return u, nil
}

var errBadLogin = Errorf(EUNAUTHORIZED, "Wrong username or password.")

// Login checks a username and password, within the per-account and
// per-IP limits. The caller starts a session: StagePassword when
// u.TwoFactor(), else StageFull.
func (s *Service) Login(ctx context.Context, username, password, ip string) (*User, error) {
	username = NormalizeUsername(username)
	if username == "" || password == "" {
		return nil, Errorf(EINVALID, "Enter your username and password.")
	}
	if len(username) > 64 || len(password) > 4*MaxPasswordLen || !utf8.ValidString(username) || !utf8.ValidString(password) {
		return nil, errBadLogin
	}
	u, err := s.checkPassword(ctx, username, password, ip)
	if err != nil {
		return nil, err
	}
	if !u.TwoFactor() {
		if err := s.event(ctx, u.ID, EventSignIn, ip); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// checkPassword verifies a password within the limits and logs failures.
func (s *Service) checkPassword(ctx context.Context, username, password, ip string) (*User, error) {
	now := s.now()
	ipKey, acctKey := "pw:ip:"+ip, "pw:user:"+username
	if _, err := s.take(ctx, ipKey, now, s.cfg.IPLimit); err != nil {
		return nil, err
	}
	acct, err := s.take(ctx, acctKey, now, s.cfg.PasswordLimit)
	if err != nil {
		if rerr := s.store.RefundAttempt(ctx, ipKey); rerr != nil {
			return nil, fmt.Errorf("refunding attempt: %w", rerr)
		}
		return nil, err
	}
	u, err := s.store.UserByName(ctx, username)
	if errors.Is(err, ErrNotFound) {
		if _, err := s.checkHash(ctx, s.dummyHash, password); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	} else if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	ok, err := s.checkHash(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, fmt.Errorf("checking password of user %d: %w", u.ID, err)
	}
	if !ok {
		if err := s.event(ctx, u.ID, EventSignInFailed, ip); err != nil {
			return nil, err
		}
		if acct.LockedUntil.After(now) {
			if err := s.event(ctx, u.ID, EventLockout, ip); err != nil {
				return nil, err
			}
		}
		return nil, errBadLogin
	}
	if err := s.store.ResetAttempts(ctx, acctKey); err != nil {
		return nil, fmt.Errorf("resetting attempts: %w", err)
	}
	if err := s.store.RefundAttempt(ctx, ipKey); err != nil {
		return nil, fmt.Errorf("refunding attempt: %w", err)
	}
	return u, nil
}

// take counts one attempt and turns a lock into the user-facing error.
func (s *Service) take(ctx context.Context, key string, now time.Time, l Limit) (Attempt, error) {
	a, err := s.store.TakeAttempt(ctx, key, now, l.Delay)
	var locked *LockedError
	if errors.As(err, &locked) {
		return a, tooMany(locked.Until, now)
	} else if err != nil {
		return a, fmt.Errorf("counting attempt: %w", err)
	}
	return a, nil
}

// event appends to the activity log. A request whose activity cannot be
// recorded fails.
func (s *Service) event(ctx context.Context, userID int64, kind EventKind, ip string) error {
	if err := s.store.AddEvent(ctx, &Event{UserID: userID, Kind: kind, IP: ip, At: s.now()}); err != nil {
		return fmt.Errorf("recording activity: %w", err)
	}
	return nil
}

// Sessions.

// HashToken returns the session id stored for a cookie token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// StartSession creates a session for u and returns its cookie token.
func (s *Service) StartSession(ctx context.Context, u *User, stage Stage, ip, userAgent string) (string, *Session, error) {
	now := s.now()
	return s.newSession(ctx, &Session{UserID: u.ID, Stage: stage, CreatedAt: now, AuthAt: now, IP: ip, UserAgent: userAgent})
}

func (s *Service) newSession(ctx context.Context, sess *Session) (string, *Session, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", nil, fmt.Errorf("reading random bytes: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	sess.ID = HashToken(token)
	sess.LastSeenAt = s.now()
	if len(sess.UserAgent) > 256 {
		sess.UserAgent = strings.ToValidUTF8(sess.UserAgent[:256], "")
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", nil, fmt.Errorf("creating session: %w", err)
	}
	return token, sess, nil
}

// rotate replaces a session by a new one with a new token (at each step
// of sign-in and after a factor change).
func (s *Service) rotate(ctx context.Context, old *Session, stage Stage, authAt time.Time) (string, *Session, error) {
	token, ns, err := s.newSession(ctx, &Session{UserID: old.UserID, Stage: stage, CreatedAt: old.CreatedAt,
		AuthAt: authAt, IP: old.IP, UserAgent: old.UserAgent})
	if err != nil {
		return "", nil, err
	}
	if err := s.store.DeleteSession(ctx, old.ID); err != nil {
		return "", nil, fmt.Errorf("deleting old session: %w", err)
	}
	return token, ns, nil
}

var errNoSession = Errorf(EUNAUTHORIZED, "Please sign in.")

// Authenticate returns the live session of a cookie token and its user,
// ending it if it is idle or too old.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, *User, error) {
	if token == "" || len(token) > 128 {
		return nil, nil, errNoSession
	}
	sess, err := s.store.Session(ctx, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errNoSession
	} else if err != nil {
		return nil, nil, fmt.Errorf("finding session: %w", err)
	}
	now := s.now()
	absolute := s.cfg.AbsoluteTimeout
	if sess.Stage != StageFull {
		absolute = s.cfg.PendingTimeout
	}
	if now.Sub(sess.LastSeenAt) > s.cfg.IdleTimeout || now.Sub(sess.CreatedAt) > absolute {
		if err := s.store.DeleteSession(ctx, sess.ID); err != nil {
			return nil, nil, fmt.Errorf("ending expired session: %w", err)
		}
		return nil, nil, Errorf(EUNAUTHORIZED, "Your session has expired. Please sign in again.")
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errNoSession
	} else if err != nil {
		return nil, nil, fmt.Errorf("finding session user: %w", err)
	}
	if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
		return nil, nil, fmt.Errorf("touching session: %w", err)
	}
	sess.LastSeenAt = now
	return sess, u, nil
}

// Logout ends the session.
func (s *Service) Logout(ctx context.Context, sess *Session, ip string) error {
	if err := s.store.DeleteSession(ctx, sess.ID); err != nil {
		return fmt.Errorf("ending session: %w", err)
	}
	if sess.Stage == StageFull {
		if err := s.event(ctx, sess.UserID, EventSignOut, ip); err != nil {
			return err
		}
	}
	return nil
}

// LogoutOthers ends every other session of the user.
func (s *Service) LogoutOthers(ctx context.Context, sess *Session, ip string) (int, error) {
	n, err := s.store.DeleteUserSessions(ctx, sess.UserID, sess.ID)
	if err != nil {
		return 0, fmt.Errorf("ending other sessions: %w", err)
	}
	if err := s.event(ctx, sess.UserID, EventOtherSessionsEnded, ip); err != nil {
		return 0, err
	}
	return n, nil
}

// InSudo reports whether the password was entered recently enough in
// this session to change a factor.
func (s *Service) InSudo(sess *Session) bool {
	return s.now().Sub(sess.AuthAt) <= s.cfg.SudoWindow
}

func (s *Service) sudo(sess *Session) error {
	if sess.Stage != StageFull {
		return errNoSession
	}
	if !s.InSudo(sess) {
		return Errorf(EREAUTH, "Please enter your password again to continue.")
	}
	return nil
}

// ConfirmPassword re-checks the password in a signed-in session, starting
// sudo mode; the session is replaced.
func (s *Service) ConfirmPassword(ctx context.Context, sess *Session, password, ip string) (string, *Session, error) {
	if sess.Stage != StageFull {
		return "", nil, errNoSession
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return "", nil, fmt.Errorf("finding user: %w", err)
	}
	if password == "" {
		return "", nil, Errorf(EINVALID, "Enter your password.")
	}
	if len(password) > 4*MaxPasswordLen {
		return "", nil, Errorf(EUNAUTHORIZED, "Wrong password.")
	}
	if _, err := s.checkPassword(ctx, u.Username, password, ip); err != nil {
		if ErrorCode(err) == EUNAUTHORIZED {
			return "", nil, Errorf(EUNAUTHORIZED, "Wrong password.")
		}
		return "", nil, err
	}
	if err := s.event(ctx, u.ID, EventPasswordConfirmed, ip); err != nil {
		return "", nil, err
	}
	return s.rotate(ctx, sess, StageFull, s.now())
}

// Second factor.

// key opens a sealed otpauth URI.
func (s *Service) key(userID int64, sealed []byte) (*totp.Key, error) {
	uri, err := s.keys.Open(userID, sealed)
	if err != nil {
		return nil, err
	}
	k, err := totp.ParseURI(string(uri))
	if err != nil {
		return nil, fmt.Errorf("parsing stored key of user %d: %w", userID, err)
	}
	return k, nil
}

func codeKey(userID int64) string { return "2fa:user:" + strconv.FormatInt(userID, 10) }

// cleanCode drops spaces and checks the shape of a TOTP code.
func cleanCode(code string, digits int) (string, error) {
	code = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
	if len(code) != digits {
		return "", Errorf(EINVALID, "Enter the %d-digit code from your authenticator app.", digits)
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return "", Errorf(EINVALID, "Enter the %d-digit code from your authenticator app (digits only).", digits)
		}
	}
	return code, nil
}

var (
	errWrongCode     = Errorf(EUNAUTHORIZED, "That code is not right. Check that your phone's clock is correct and enter the newest code.")
	errReplayedCode  = Errorf(EUNAUTHORIZED, "That code was already used. Wait for the next code in your app.")
	errWrongRecovery = Errorf(EUNAUTHORIZED, "That recovery code is not right or was already used.")
)

// checkCode verifies a TOTP code of an enabled account and consumes its
// step, within the code limit.
func (s *Service) checkCode(ctx context.Context, u *User, code, ip string) error {
	k, err := s.key(u.ID, u.TOTPSecret)
	if err != nil {
		return err
	}
	if code, err = cleanCode(code, k.Digits); err != nil {
		return err
	}
	now := s.now()
	a, err := s.take(ctx, codeKey(u.ID), now, s.cfg.CodeLimit)
	if err != nil {
		return err
	}
	step, ok := k.Verify(code, now, totp.DefaultSkew)
	if !ok {
		if err := s.failed(ctx, u.ID, EventCodeFailed, ip, a, now); err != nil {
			return err
		}
		return errWrongCode
	}
	if err := s.store.ConsumeTOTPStep(ctx, u.ID, step); errors.Is(err, ErrReplay) {
		if err := s.failed(ctx, u.ID, EventCodeReplayed, ip, a, now); err != nil {
			return err
		}
		return errReplayedCode
	} else if err != nil {
		return fmt.Errorf("consuming step: %w", err)
	}
	return s.resetCode(ctx, u.ID)
}

// checkRecovery uses up a recovery code, within the code limit.
func (s *Service) checkRecovery(ctx context.Context, u *User, code, ip string) error {
	code = NormalizeRecoveryCode(code)
	if !validRecoveryCode(code) {
		return Errorf(EINVALID, "A recovery code looks like abcde-fghij: 10 letters and digits.")
	}
	now := s.now()
	a, err := s.take(ctx, codeKey(u.ID), now, s.cfg.CodeLimit)
	if err != nil {
		return err
	}
	if err := s.store.ConsumeRecoveryCode(ctx, u.ID, s.keys.HashRecoveryCode(u.ID, code), now); errors.Is(err, ErrNotFound) {
		if err := s.failed(ctx, u.ID, EventRecoveryFailed, ip, a, now); err != nil {
			return err
		}
		return errWrongRecovery
	} else if err != nil {
		return fmt.Errorf("consuming recovery code: %w", err)
	}
	if err := s.event(ctx, u.ID, EventRecoveryUsed, ip); err != nil {
		return err
	}
	return s.resetCode(ctx, u.ID)
}

// failed records a failed attempt, and the lockout when it caused one.
func (s *Service) failed(ctx context.Context, userID int64, kind EventKind, ip string, a Attempt, now time.Time) error {
	if err := s.event(ctx, userID, kind, ip); err != nil {
		return err
	}
	if a.LockedUntil.After(now) {
		return s.event(ctx, userID, EventLockout, ip)
	}
	return nil
}

func (s *Service) resetCode(ctx context.Context, userID int64) error {
	if err := s.store.ResetAttempts(ctx, codeKey(userID)); err != nil {
		return fmt.Errorf("resetting attempts: %w", err)
	}
	return nil
}

// pendingUser returns the user of a session that passed the password.
func (s *Service) pendingUser(ctx context.Context, sess *Session) (*User, error) {
	if sess.Stage != StagePassword {
		return nil, errNoSession
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	if !u.TwoFactor() {
		return nil, Errorf(ECONFLICT, "Two-factor authentication is off for this account. Please sign in again.")
	}
	return u, nil
}

// LoginCode finishes sign-in with a TOTP code; the session is replaced.
func (s *Service) LoginCode(ctx context.Context, sess *Session, code, ip string) (string, *Session, error) {
	u, err := s.pendingUser(ctx, sess)
	if err != nil {
		return "", nil, err
	}
	if err := s.checkCode(ctx, u, code, ip); err != nil {
		return "", nil, err
	}
	if err := s.event(ctx, u.ID, EventSignIn, ip); err != nil {
		return "", nil, err
	}
	return s.rotate(ctx, sess, StageFull, sess.AuthAt)
}

// LoginRecovery finishes sign-in with a recovery code; the session is
// replaced.
func (s *Service) LoginRecovery(ctx context.Context, sess *Session, code, ip string) (string, *Session, error) {
	u, err := s.pendingUser(ctx, sess)
	if err != nil {
		return "", nil, err
	}
	if err := s.checkRecovery(ctx, u, code, ip); err != nil {
		return "", nil, err
	}
	if err := s.event(ctx, u.ID, EventSignIn, ip); err != nil {
		return "", nil, err
	}
	return s.rotate(ctx, sess, StageFull, sess.AuthAt)
}

// fullUser returns the user of a signed-in session.
func (s *Service) fullUser(ctx context.Context, sess *Session) (*User, error) {
	if sess.Stage != StageFull {
		return nil, errNoSession
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	return u, nil
}

var errAlreadyOn = Errorf(ECONFLICT, "Two-factor authentication is already on.")

// StartEnrollment returns the pending key of the user, creating one if
// there is none: a user who comes back sees the same key and need not
// scan again.
func (s *Service) StartEnrollment(ctx context.Context, sess *Session) (*totp.Key, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	if err := s.sudo(sess); err != nil {
		return nil, err
	}
	if u.TwoFactor() {
		return nil, errAlreadyOn
	}
	if u.TOTPPending != nil {
		if k, err := s.key(u.ID, u.TOTPPending); err == nil {
			return k, nil
		}
	}
	k, err := totp.Generate(s.rand, s.cfg.Issuer, u.Username)
	if err != nil {
		return nil, err
	}
	sealed, err := s.keys.Seal(s.rand, u.ID, []byte(k.URI()))
	if err != nil {
		return nil, err
	}
	if err := s.store.SetPendingTOTP(ctx, u.ID, sealed); err != nil {
		return nil, fmt.Errorf("storing pending key: %w", err)
	}
	return k, nil
}

var errNoEnrollment = Errorf(ENOTFOUND, "There is no set-up in progress. Start again from Security Settings.")

// PendingEnrollment returns the key of the enrollment in progress.
func (s *Service) PendingEnrollment(ctx context.Context, sess *Session) (*totp.Key, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	if err := s.sudo(sess); err != nil {
		return nil, err
	}
	if u.TwoFactor() {
		return nil, errAlreadyOn
	}
	if u.TOTPPending == nil {
		return nil, errNoEnrollment
	}
	return s.key(u.ID, u.TOTPPending)
}

// CompleteEnrollment verifies the first code of the pending key, turns
// two-factor authentication on and returns the recovery codes (shown
// once) and the replaced session. A wrong code keeps the same key.
func (s *Service) CompleteEnrollment(ctx context.Context, sess *Session, code, ip string) ([]string, string, *Session, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, "", nil, err
	}
	if err := s.sudo(sess); err != nil {
		return nil, "", nil, err
	}
	if u.TwoFactor() {
		return nil, "", nil, errAlreadyOn
	}
	if u.TOTPPending == nil {
		return nil, "", nil, errNoEnrollment
	}
	k, err := s.key(u.ID, u.TOTPPending)
	if err != nil {
		return nil, "", nil, err
	}
	if code, err = cleanCode(code, k.Digits); err != nil {
		return nil, "", nil, err
	}
	now := s.now()
	a, err := s.take(ctx, codeKey(u.ID), now, s.cfg.CodeLimit)
	if err != nil {
		return nil, "", nil, err
	}
	step, ok := k.Verify(code, now, totp.DefaultSkew)
	if !ok {
		if err := s.failed(ctx, u.ID, EventCodeFailed, ip, a, now); err != nil {
			return nil, "", nil, err
		}
		return nil, "", nil, Errorf(EUNAUTHORIZED, "That code is not right. Check that your phone's clock is correct and enter the newest code; the key stays the same, no need to scan again.")
	}
	codes, hashes, err := s.newRecovery(u.ID)
	if err != nil {
		return nil, "", nil, err
	}
	if err := s.store.EnableTOTP(ctx, u.ID, u.TOTPPending, step, hashes); errors.Is(err, ErrConflict) {
		return nil, "", nil, Errorf(ECONFLICT, "Two-factor authentication was changed in the meantime. Reload Security Settings.")
	} else if err != nil {
		return nil, "", nil, fmt.Errorf("enabling two-factor: %w", err)
	}
	if err := s.resetCode(ctx, u.ID); err != nil {
		return nil, "", nil, err
	}
	if err := s.event(ctx, u.ID, EventTwoFactorOn, ip); err != nil {
		return nil, "", nil, err
	}
	token, ns, err := s.rotate(ctx, sess, StageFull, sess.AuthAt)
	if err != nil {
		return nil, "", nil, err
	}
	return codes, token, ns, nil
}

func (s *Service) newRecovery(userID int64) ([]string, [][]byte, error) {
	codes, err := newRecoveryCodes(s.rand, RecoveryCodeCount)
	if err != nil {
		return nil, nil, err
	}
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = s.keys.HashRecoveryCode(userID, c)
	}
	return codes, hashes, nil
}

// RegenerateRecoveryCodes replaces the recovery codes; it needs sudo mode
// and a current code.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, sess *Session, code, ip string) ([]string, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	if err := s.sudo(sess); err != nil {
		return nil, err
	}
	if !u.TwoFactor() {
		return nil, Errorf(ECONFLICT, "Two-factor authentication is off.")
	}
	if err := s.checkCode(ctx, u, code, ip); err != nil {
		return nil, err
	}
	codes, hashes, err := s.newRecovery(u.ID)
	if err != nil {
		return nil, err
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return nil, fmt.Errorf("replacing recovery codes: %w", err)
	}
	if err := s.event(ctx, u.ID, EventRecoveryRegenerated, ip); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTwoFactor turns two-factor authentication off; it needs the
// password and a current code or a recovery code, and it ends the user's
// other sessions.
func (s *Service) DisableTwoFactor(ctx context.Context, sess *Session, password, code, recovery, ip string) error {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return err
	}
	if !u.TwoFactor() {
		return Errorf(ECONFLICT, "Two-factor authentication is already off.")
	}
	if password == "" {
		return Errorf(EINVALID, "Enter your password.")
	}
	if strings.TrimSpace(code) == "" && strings.TrimSpace(recovery) == "" {
		return Errorf(EINVALID, "Enter a code from your app or a recovery code.")
	}
	if len(password) > 4*MaxPasswordLen {
		return Errorf(EUNAUTHORIZED, "Wrong password.")
	}
	if _, err := s.checkPassword(ctx, u.Username, password, ip); err != nil {
		if ErrorCode(err) == EUNAUTHORIZED {
			return Errorf(EUNAUTHORIZED, "Wrong password.")
		}
		return err
	}
	if strings.TrimSpace(code) != "" {
		err = s.checkCode(ctx, u, code, ip)
	} else {
		err = s.checkRecovery(ctx, u, recovery, ip)
	}
	if err != nil {
		return err
	}
	if err := s.store.DisableTOTP(ctx, u.ID); err != nil {
		return fmt.Errorf("disabling two-factor: %w", err)
	}
	if err := s.event(ctx, u.ID, EventTwoFactorOff, ip); err != nil {
		return err
	}
	if _, err := s.LogoutOthers(ctx, sess, ip); err != nil {
		return err
	}
	return nil
}

// Status is what Security Settings shows.
type Status struct {
	TwoFactor    bool
	Pending      bool
	RecoveryLeft int
	Events       []*Event
	SudoUntil    time.Time
}

// SecurityStatus returns the two-factor state and the recent activity.
func (s *Service) SecurityStatus(ctx context.Context, sess *Session) (*Status, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	st := &Status{TwoFactor: u.TwoFactor(), Pending: u.TOTPPending != nil, SudoUntil: sess.AuthAt.Add(s.cfg.SudoWindow)}
	if st.TwoFactor {
		if st.RecoveryLeft, err = s.store.CountRecoveryCodes(ctx, u.ID); err != nil {
			return nil, fmt.Errorf("counting recovery codes: %w", err)
		}
	}
	if st.Events, err = s.store.Events(ctx, u.ID, 50); err != nil {
		return nil, fmt.Errorf("listing activity: %w", err)
	}
	return st, nil
}

// Admin operations, for the command line.

// ListUsers returns every user.
func (s *Service) ListUsers(ctx context.Context) ([]*User, error) { return s.store.ListUsers(ctx) }

func (s *Service) userByName(ctx context.Context, name string) (*User, error) {
	u, err := s.store.UserByName(ctx, NormalizeUsername(name))
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENOTFOUND, "No user %q.", NormalizeUsername(name))
	} else if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	return u, nil
}

// DeleteUser removes an account and all its data.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	u, err := s.userByName(ctx, name)
	if err != nil {
		return err
	}
	return s.store.DeleteUser(ctx, u.ID)
}

// ResetTwoFactor turns two-factor authentication off for a user who lost
// the authenticator, ends the user's sessions and clears the code limit.
func (s *Service) ResetTwoFactor(ctx context.Context, name string) error {
	u, err := s.userByName(ctx, name)
	if err != nil {
		return err
	}
	if err := s.store.DisableTOTP(ctx, u.ID); err != nil {
		return fmt.Errorf("disabling two-factor: %w", err)
	}
	if _, err := s.store.DeleteUserSessions(ctx, u.ID, nil); err != nil {
		return fmt.Errorf("ending sessions: %w", err)
	}
	if err := s.resetCode(ctx, u.ID); err != nil {
		return err
	}
	if err := s.event(ctx, u.ID, EventTwoFactorOff, "admin"); err != nil {
		return err
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their idle or absolute
// timeout (they are refused anyway; this keeps the table small).
func (s *Service) DeleteExpiredSessions(ctx context.Context) error {
	now := s.now()
	return s.store.DeleteExpiredSessions(ctx, now.Add(-s.cfg.IdleTimeout), now.Add(-s.cfg.AbsoluteTimeout))
}
