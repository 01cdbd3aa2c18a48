package portal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
	IPLimit       Limit // passwords per client IP (/64 for IPv6), unknown clients
	DeviceLimit   Limit // passwords per known device (device cookie)
	SignupLimit   Limit // sign-ups per client IP (/64 for IPv6)
	MailLimit     Limit // mails asked for (confirmation, reset) per account and per IP

	// Mail: the SMTP side is configured (the outbox has a sender).
	Mail MailConfig

	// Require2FA walks every signed-in user without 2FA into its set-up
	// and refuses everything else until it is done; Require2FAGrace > 0
	// lets each account skip it for that long (see require.go).
	Require2FA      bool
	Require2FAGrace time.Duration

	// HashSlots bounds the argon2id computations at once (each takes
	// Password.Memory); 0 means GOMAXPROCS.
	HashSlots int

	// Retention: how long activity and the audit log are kept, and the
	// batch size of Prune.
	Retention Retention
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
		DeviceLimit:     DefaultDeviceLimit,
		SignupLimit:     DefaultSignupLimit,
		MailLimit:       DefaultMailLimit,
		Retention:       Retention{Activity: DefaultActivityRetention, Batch: DefaultPruneBatch},
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
	// takes Password.Memory), so a burst of sign-ins cannot exhaust memory
	// nor starve the other requests of CPU.
	hashing *hasher
	// common is the common-password list, loaded on first use.
	common *commonPasswords
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
		hashing: newHasher(cfg.HashSlots), common: &commonPasswords{}}, nil
}

func (s *Service) hashPassword(ctx context.Context, password string) (hash string, err error) {
	if rerr := s.hashing.run(ctx, func() { hash, err = HashPassword(s.rand, s.cfg.Password, password) }); rerr != nil {
		return "", rerr
	}
	return hash, err
}

func (s *Service) checkHash(ctx context.Context, hash, password string) (ok bool, err error) {
	if rerr := s.hashing.run(ctx, func() { ok, err = CheckPassword(hash, password) }); rerr != nil {
		return false, rerr
	}
	return ok, err
}

// Ping reports whether the store can serve.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

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

// SignUp creates an account (when sign-up is open). With mail on, the
// e-mail address is required and a confirmation link is queued with the
// account, in one transaction; with mail off, none is taken.
func (s *Service) SignUp(ctx context.Context, username, displayName, email, password, confirm, ip string) (*User, error) {
	if !s.cfg.Signup {
		return nil, Errorf(EFORBIDDEN, "Sign-up is closed on this portal. Ask an administrator for an account.")
	}
	if password != confirm {
		return nil, Errorf(EINVALID, "The two passwords do not match.")
	}
	if s.cfg.Mail.Enabled && strings.TrimSpace(email) == "" {
		return nil, Errorf(EINVALID, "Enter your e-mail address: the portal sends a link to confirm it.")
	}
	// Every sign-up counts, accepted or not: this bounds both account
	// creation and the probing of taken names from one address.
	if _, err := s.take(ctx, "signup:ip:"+clientKey(ip), s.now(), s.cfg.SignupLimit); err != nil {
		return nil, err
	}
	return s.addUser(ctx, username, displayName, email, password, ip)
}

// AddUser creates an account without the sign-up switch (admin CLI);
// email may be empty.
func (s *Service) AddUser(ctx context.Context, username, displayName, email, password string) (*User, error) {
	return s.addUser(ctx, username, displayName, email, password, "")
}

func (s *Service) addUser(ctx context.Context, username, displayName, email, password, ip string) (*User, error) {
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
	if email = strings.TrimSpace(email); email != "" {
		if !s.cfg.Mail.Enabled {
			return nil, errNoMail
		}
		var err error
		if email, err = NormalizeEmail(email); err != nil {
			return nil, err
		}
	}
	if err := s.checkNewPassword(password, username, displayName); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, NormalizePassword(password))
	if err != nil {
		return nil, err
	}
	u := &User{Username: username, DisplayName: displayName, PasswordHash: hash, CreatedAt: s.now(), EmailPending: email}
	if s.cfg.Require2FA {
		u.GraceFrom = u.CreatedAt // created under the setting: the grace starts now
	}
	err = s.atomic(ctx, func(t *Service) error {
		// ErrConflict (not a user-facing *Error, which atomic would
		// commit) rolls back: on PostgreSQL the failed insert ended the
		// transaction anyway.
		if err := t.store.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("creating user: %w", err)
		}
		if ip != "" {
			if err := t.event(ctx, u.ID, EventSignUp, ip); err != nil {
				return err
			}
		}
		if email != "" {
			return t.sendConfirmation(ctx, u, email)
		}
		return nil
	})
	if errors.Is(err, ErrConflict) {
		return nil, Errorf(ECONFLICT, "That username is taken. Choose another one.")
	} else if err != nil {
		return nil, err
	}
	return u, nil
}

var errBadLogin = Errorf(EUNAUTHORIZED, "Wrong username or password.")

// Login checks a username and password, within the limits: a browser
// with a valid device token for the account (see DeviceToken) on its own
// counter, any other client on the account's and the address's counters
// of unknown clients. The caller starts a session: StagePassword when
// u.TwoFactor(), else StageFull.
func (s *Service) Login(ctx context.Context, username, password, ip, device string) (*User, error) {
	username = NormalizeUsername(username)
	if username == "" || password == "" {
		return nil, Errorf(EINVALID, "Enter your username and password.")
	}
	if len(username) > 64 || len(password) > 4*MaxPasswordLen || !utf8.ValidString(username) || !utf8.ValidString(password) {
		return nil, errBadLogin
	}
	u, err := s.checkPassword(ctx, username, password, ip, device)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		// Said only after the right password: nobody learns more than
		// a wrong password tells them.
		if err := s.event(ctx, u.ID, EventDisabledSignIn, ip); err != nil {
			return nil, err
		}
		return nil, Errorf(EFORBIDDEN, errAccountDisabledMsg)
	}
	if !u.TwoFactor() {
		if err := s.event(ctx, u.ID, EventSignIn, ip); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// checkPassword verifies a password of a client that is not signed in,
// within the limits, and logs failures.
func (s *Service) checkPassword(ctx context.Context, username, password, ip, device string) (*User, error) {
	now := s.now()
	u, err := s.store.UserByName(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	if u != nil && device != "" {
		if nonce := s.deviceNonce(device, u); nonce != "" {
			return s.checkCounted(ctx, u, password, ip, []counter{{deviceKeyPrefix(u.ID) + nonce, s.cfg.DeviceLimit}})
		}
	}
	counters := []counter{{"pw:ip:" + clientKey(ip), s.cfg.IPLimit}, {"pw:user:" + username, s.cfg.PasswordLimit}}
	if u == nil {
		for _, c := range counters {
			if _, err := s.take(ctx, c.key, now, c.limit); err != nil {
				return nil, s.refundAll(ctx, counters, c.key, err)
			}
		}
		if _, err := s.checkHash(ctx, s.dummyHash, password); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	}
	return s.checkCounted(ctx, u, password, ip, counters)
}

// checkSignedIn verifies the password of a signed-in session's user on
// the account's signed-in counter.
func (s *Service) checkSignedIn(ctx context.Context, u *User, password, ip string) error {
	_, err := s.checkCounted(ctx, u, password, ip, []counter{{signedInKey(u.ID), s.cfg.PasswordLimit}})
	return err
}

type counter struct {
	key   string
	limit Limit
}

// refundAll takes back the attempts counted before the counter failed
// refused, and returns err.
func (s *Service) refundAll(ctx context.Context, counters []counter, failed string, err error) error {
	for _, c := range counters {
		if c.key == failed {
			break
		}
		if rerr := s.store.RefundAttempt(ctx, c.key); rerr != nil {
			return fmt.Errorf("refunding attempt: %w", rerr)
		}
	}
	return err
}

// checkCounted counts one attempt on each counter, checks the password,
// and on success takes every attempt back and drops any lock: a right
// password never sets or keeps a lock for its client.
func (s *Service) checkCounted(ctx context.Context, u *User, password, ip string, counters []counter) (*User, error) {
	now := s.now()
	locked := false
	for _, c := range counters {
		a, err := s.take(ctx, c.key, now, c.limit)
		if err != nil {
			return nil, s.refundAll(ctx, counters, c.key, err)
		}
		locked = locked || a.LockedUntil.After(now)
	}
	// Hashes are of the NFKC form; one made before normalisation holds
	// the password as typed, so that is tried too when it differs.
	ok, err := s.checkHash(ctx, u.PasswordHash, NormalizePassword(password))
	if err == nil && !ok && NormalizePassword(password) != password {
		ok, err = s.checkHash(ctx, u.PasswordHash, password)
	}
	if err != nil {
		return nil, fmt.Errorf("checking password of user %d: %w", u.ID, err)
	}
	if !ok {
		if err := s.event(ctx, u.ID, EventSignInFailed, ip); err != nil {
			return nil, err
		}
		if locked {
			if err := s.event(ctx, u.ID, EventLockout, ip); err != nil {
				return nil, err
			}
		}
		return nil, errBadLogin
	}
	for _, c := range counters {
		var err error
		if strings.HasPrefix(c.key, "pw:ip:") {
			err = s.store.RefundAttempt(ctx, c.key) // shared by everyone behind the address
		} else {
			err = s.store.ResetAttempts(ctx, c.key)
		}
		if err != nil {
			return nil, fmt.Errorf("resetting attempts: %w", err)
		}
	}
	return u, nil
}

// atomic runs fn with a Service whose store is one transaction
// (Store.Atomic). When fn returns a user-facing *Error (a wrong or
// replayed code, a lock), what fn recorded (the attempt, the failure
// event) is committed and the *Error returned; any other error rolls
// everything back.
func (s *Service) atomic(ctx context.Context, fn func(t *Service) error) error {
	var refused error
	err := s.store.Atomic(ctx, func(st Store) error {
		t := *s
		t.store = st
		err := fn(&t)
		var e *Error
		if errors.As(err, &e) {
			refused = err
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return refused
}

// take counts one attempt and turns a lock into the user-facing error.
func (s *Service) take(ctx context.Context, key string, now time.Time, l Limit) (Attempt, error) {
	a, err := s.store.TakeAttempt(ctx, key, now, l.Window, l.Delay)
	var locked *LockedError
	if errors.As(err, &locked) {
		return a, tooMany(locked.Until, now)
	} else if err != nil {
		return a, fmt.Errorf("counting attempt: %w", err)
	}
	return a, nil
}

// event appends to the activity log. A request whose activity cannot be
// recorded fails. An event the owner is told of by mail (notifies) is
// recorded together with its message, in one transaction (the caller's
// when it runs inside atomic).
func (s *Service) event(ctx context.Context, userID int64, kind EventKind, ip string) error {
	return s.eventDetail(ctx, userID, kind, ip, "")
}

// eventDetail is event with a detail for the notice (the browser of a
// new device).
func (s *Service) eventDetail(ctx context.Context, userID int64, kind EventKind, ip, detail string) error {
	e := &Event{UserID: userID, Kind: kind, IP: ip, At: s.now()}
	if !s.cfg.Mail.Enabled || !notifies(kind) {
		if err := s.store.AddEvent(ctx, e); err != nil {
			return fmt.Errorf("recording activity: %w", err)
		}
		return nil
	}
	return s.store.Atomic(ctx, func(st Store) error {
		if err := st.AddEvent(ctx, e); err != nil {
			return fmt.Errorf("recording activity: %w", err)
		}
		t := *s
		t.store = st
		return t.notify(ctx, e, detail)
	})
}
