package portal

import (
	"errors"
	"fmt"
	"time"
)

// Error codes, after benbjohnson/wtf. The web package maps each to an HTTP
// status in one place.
const (
	EINVALID      = "invalid"      // bad input: 400/422
	EUNAUTHORIZED = "unauthorized" // not signed in, or wrong credentials: 401
	EFORBIDDEN    = "forbidden"    // signed in but not allowed: 403
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // 409
	ETOOLARGE     = "too_large"    // 413
	EUNSUPPORTED  = "unsupported"  // 415: a body in a format not accepted
	ETOOMANY      = "too_many"     // 429
	EREAUTH       = "reauth"       // needs the password again (sudo mode)
	ESETUP        = "setup"        // 2FA is required and not set up yet: 403
	EINTERNAL     = "internal"     // 500
	EUNAVAILABLE  = "unavailable"  // 503: the database cannot serve now
)

// Error is an error with a code and a message safe to show to the user.
type Error struct {
	Code    string
	Message string
	// RetryAfter is set for ETOOMANY.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("portal error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted user message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for
// any other non-nil error, "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	} else if errors.Is(err, ErrUnavailable) {
		return EUNAVAILABLE
	}
	return EINTERNAL
}

// ErrorMessage returns the user message of err, a generic one for
// internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	} else if errors.Is(err, ErrUnavailable) {
		return "The portal cannot reach its database right now. Please try again in a minute."
	}
	return "Something went wrong on our side. Please try again."
}

// Store errors. Implementations return these (possibly wrapped).
var (
	// ErrNotFound: no such user, session, or unused recovery code.
	ErrNotFound = errors.New("not found")
	// ErrConflict: unique name taken, or a conditional update lost.
	ErrConflict = errors.New("conflict")
	// ErrReplay: the TOTP step is not later than the last accepted one.
	ErrReplay = errors.New("time step already used")
	// ErrLocked: TakeAttempt refused because the counter is locked; it is
	// returned wrapped in a *LockedError.
	ErrLocked = errors.New("attempts locked")
	// ErrUnavailable: the database cannot serve now (down, unreachable,
	// disk full, read-only); the request may succeed later. Adapters add
	// it to the chain of such errors.
	ErrUnavailable = errors.New("database unavailable")
)

// LockedError says until when an attempt counter is locked.
type LockedError struct {
	Until time.Time
}

func (e *LockedError) Error() string {
	return "attempts locked until " + e.Until.UTC().Format(time.RFC3339)
}
func (e *LockedError) Unwrap() error { return ErrLocked }
