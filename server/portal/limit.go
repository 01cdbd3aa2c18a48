package portal

import (
	"fmt"
	"time"
)

// Limit is an attempt-limiting policy in the spirit of NIST SP 800-63B
// 5.2.2: Free consecutive failures are allowed, then each further failure
// locks the counter for a delay that doubles from Base up to Max; at Hard
// consecutive failures (at most 100) the lock lasts HardLock.
type Limit struct {
	Free     int
	Base     time.Duration
	Max      time.Duration
	Hard     int
	HardLock time.Duration
}

// DefaultLimit is used for codes, recovery codes and per-account passwords.
var DefaultLimit = Limit{Free: 5, Base: 30 * time.Second, Max: time.Hour, Hard: 100, HardLock: 24 * time.Hour}

// DefaultIPLimit is used per client IP for passwords: more generous, since
// many people may share an address.
var DefaultIPLimit = Limit{Free: 20, Base: 30 * time.Second, Max: time.Hour, Hard: 100, HardLock: 24 * time.Hour}

// Delay is how long the counter stays locked after failures consecutive
// failures.
func (l Limit) Delay(failures int) time.Duration {
	switch {
	case failures < l.Free:
		return 0
	case failures >= l.Hard:
		return l.HardLock
	}
	n := failures - l.Free
	if n > 30 {
		return l.Max
	}
	d := l.Base << n
	if d > l.Max || d <= 0 {
		return l.Max
	}
	return d
}

// tooMany is the user-facing error of a locked counter.
func tooMany(until, now time.Time) error {
	d := until.Sub(now)
	if d < time.Second {
		d = time.Second
	}
	return &Error{Code: ETOOMANY, Message: "Too many attempts, try again in " + HumanDuration(d) + ".", RetryAfter: d}
}

// HumanDuration renders a wait as "45 seconds", "3 minutes", "2 hours".
func HumanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s", unit)
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	secs := int64((d + time.Second - 1) / time.Second)
	switch {
	case secs < 90:
		return plural(secs, "second")
	case secs < 90*60:
		return plural((secs+59)/60, "minute")
	default:
		return plural((secs+3599)/3600, "hour")
	}
}
