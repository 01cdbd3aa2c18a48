package portal

import (
	"fmt"
	"net/netip"
	"time"
)

// Limit is an attempt-limiting policy in the spirit of NIST SP 800-63B
// 5.2.2: Free consecutive failures are allowed, then each further failure
// locks the counter for a delay that doubles from Base up to Max; at Hard
// consecutive failures (at most 100) the lock lasts HardLock.
//
// Failures decay: when the last attempt is more than Window old (and the
// counter is not locked), the earlier failures stop counting, as
// Keycloak's failure reset time or Authelia's find_time.
type Limit struct {
	Window   time.Duration
	Free     int
	Base     time.Duration
	Max      time.Duration
	Hard     int
	HardLock time.Duration
}

// DefaultLimit is used for codes, recovery codes and per-account passwords.
var DefaultLimit = Limit{Window: 24 * time.Hour, Free: 5, Base: 30 * time.Second, Max: time.Hour, Hard: 100, HardLock: 24 * time.Hour}

// DefaultIPLimit is used per client IP for passwords: more generous, since
// many people may share an address.
var DefaultIPLimit = Limit{Window: 24 * time.Hour, Free: 20, Base: 30 * time.Second, Max: time.Hour, Hard: 100, HardLock: 24 * time.Hour}

// DefaultDeviceLimit is the budget of a known device (a browser with a
// device cookie) for the password of its account: its own counter, so
// guesses from elsewhere never lock it out.
var DefaultDeviceLimit = Limit{Window: 24 * time.Hour, Free: 10, Base: 30 * time.Second, Max: time.Hour, Hard: 100, HardLock: 24 * time.Hour}

// DefaultSignupLimit counts every sign-up per client address (/64 for
// IPv6), right or wrong: 10 an hour, then a minute's wait, doubling.
var DefaultSignupLimit = Limit{Window: time.Hour, Free: 10, Base: time.Minute, Max: time.Hour, Hard: 100, HardLock: 24 * time.Hour}

// DefaultMailLimit counts the mails a client asks for (confirmation
// links, password resets), per account and per address: 5 an hour, then
// a wait of 5 minutes, doubling.
var DefaultMailLimit = Limit{Window: time.Hour, Free: 5, Base: 5 * time.Minute, Max: 6 * time.Hour, Hard: 100, HardLock: 24 * time.Hour}

// clientKey is the counter name part of a client address: the address
// for IPv4, its /64 for IPv6 (one subscriber usually has a whole /64).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, err := a.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return a.String()
}

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
