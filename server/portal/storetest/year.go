package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"regexp"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/shared/totp"
)

// The simulated year: how busy the account is.
const (
	yearDays        = 380 // past the year of activity retention
	signInsPerDay   = 6   // each from its own address, most with a code
	sprayPerDay     = 10  // guesses at unknown names from random addresses
	auditPerDay     = 1
	auditRetention  = 90 * 24 * time.Hour
	maxTokensPerDay = 1 // at most one reset link a day
)

var mailTokenRE = regexp.MustCompile(`\?token=([A-Za-z0-9_-]+)`)

// year is the state of the simulation: one busy account on s, a clock
// moved by hand, the service on top.
type year struct {
	t        *testing.T
	s        portal.Store
	svc      *portal.Service
	keys     *portal.Keys // opens the queued mail
	now      time.Time
	rng      *mrand.Rand
	user     *portal.User
	key      *totp.Key
	password string
	recovery []string
	device   string // remembered-device token, "" for none
	// mails created per day, counted when the sender first sees them.
	seenMail map[int64]bool
}

func (y *year) clock() time.Time { return y.now }

func (y *year) code() string {
	y.t.Helper()
	c, err := y.key.Code(y.now)
	if err != nil {
		y.t.Fatal(err)
	}
	return c
}

// deliver is the mail sender: it claims every due message, sends nine
// in ten (a tenth bounces and is retried after the time an unsent
// message is kept: it is never sent) and returns the link tokens of the
// messages sent.
func (y *year) deliver() (tokens []string, created int) {
	y.t.Helper()
	ctx := context.Background()
	ms, err := y.s.ClaimMail(ctx, y.now, time.Minute, 1000)
	if err != nil {
		y.t.Fatal(err)
	}
	for _, m := range ms {
		if !y.seenMail[m.ID] {
			y.seenMail[m.ID] = true
			created++
		}
		if y.rng.IntN(10) == 0 {
			if err := y.s.RetryMail(ctx, m.ID, y.now.Add(portal.KeepSentMail+24*time.Hour), "550 mailbox unavailable"); err != nil {
				y.t.Fatal(err)
			}
			continue
		}
		if err := y.keys.OpenMail(m); err != nil {
			y.t.Fatal(err)
		}
		if mm := mailTokenRE.FindStringSubmatch(m.Text); mm != nil {
			tokens = append(tokens, mm[1])
		}
		if err := y.s.MarkMailSent(ctx, m.ID, y.now); err != nil {
			y.t.Fatal(err)
		}
	}
	return tokens, created
}

func (y *year) ip() string { return fmt.Sprintf("198.51.100.%d", 1+y.rng.IntN(250)) }

// signIn is one sign-in of the account: password, then a remembered
// device, a code (sometimes wrong first) or a recovery code. It returns
// the session's token.
func (y *year) signIn(day, i int) (string, *portal.Session) {
	y.t.Helper()
	ctx := context.Background()
	ip := y.ip()
	if y.rng.IntN(4) == 0 {
		if _, err := y.svc.Login(ctx, "busy", y.password+"x", ip, ""); portal.ErrorCode(err) != portal.EUNAUTHORIZED {
			y.t.Fatalf("day %d: wrong password: %v, want refused", day, err)
		}
	}
	u, err := y.svc.Login(ctx, "busy", y.password, ip, "")
	if err != nil {
		y.t.Fatalf("day %d: sign-in %d: %v", day, i, err)
	}
	remembered := ""
	if i == 1 {
		remembered = y.device
	}
	token, sess, err := y.svc.BeginSession(ctx, nil, u, ip, "Simulated/1.0", remembered)
	if err != nil {
		y.t.Fatalf("day %d: session: %v", day, err)
	}
	if sess.Stage == portal.StageFull {
		return token, sess
	}
	y.now = y.now.Add(20 * time.Second)
	if y.rng.IntN(5) == 0 {
		if wrong := "000000"; wrong != y.code() {
			if _, err := y.svc.LoginCode(ctx, sess, u, wrong, ip, false); portal.ErrorCode(err) != portal.EUNAUTHORIZED {
				y.t.Fatalf("day %d: wrong code: %v, want refused", day, err)
			}
		}
	}
	var in *portal.SignedIn
	if day%45 == 15 && i == 2 && len(y.recovery) > 0 {
		in, err = y.svc.LoginRecovery(ctx, sess, u, y.recovery[0], ip)
		y.recovery = y.recovery[1:]
		y.device = "" // a recovery sign-in forgets the remembered devices
	} else {
		in, err = y.svc.LoginCode(ctx, sess, u, y.code(), ip, i == 0 && day%7 == 0)
	}
	if err != nil {
		y.t.Fatalf("day %d: second step of sign-in %d: %v", day, i, err)
	}
	if in.Remembered != "" {
		y.device = in.Remembered
	}
	return in.Token, in.Session
}

func testSimulatedYear(t *testing.T, s portal.Store) {
	ctx := context.Background()
	keys, err := portal.NewKeys(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	cfg := portal.DefaultConfig()
	cfg.Password = portal.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32} // cheap: the year is about rows
	cfg.Mail = portal.MailConfig{Enabled: true, PublicURL: "https://portal.example.com"}
	cfg.Retention.Audit = auditRetention
	cfg.Retention.Batch = 50 // small, so that the daily prunes cross batch boundaries
	y := &year{t: t, s: s, keys: keys, now: t0, rng: mrand.New(mrand.NewPCG(1, 2)), password: "busy bee password 0", seenMail: map[int64]bool{}}
	if y.svc, err = portal.NewService(s, keys, cfg, y.clock, rand.Reader); err != nil {
		t.Fatal(err)
	}

	// The account: a confirmed address and 2FA.
	if y.user, err = y.svc.AddUser(ctx, "busy", "Busy Bee", "busy@example.com", y.password); err != nil {
		t.Fatal(err)
	}
	tokens, _ := y.deliver()
	if len(tokens) != 1 {
		t.Fatalf("confirmation mail: %d links", len(tokens))
	}
	if _, err := y.svc.ConfirmEmail(ctx, tokens[0], "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	u, err := y.svc.Login(ctx, "busy", y.password, "192.0.2.1", "")
	if err != nil {
		t.Fatal(err)
	}
	_, sess, err := y.svc.BeginSession(ctx, nil, u, "192.0.2.1", "Simulated/1.0", "")
	if err != nil {
		t.Fatal(err)
	}
	if y.key, err = y.svc.StartEnrollment(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if y.recovery, _, _, err = y.svc.CompleteEnrollment(ctx, sess, y.code(), "192.0.2.1"); err != nil {
		t.Fatal(err)
	}

	// The bounds, from the retention settings and the schedule.
	day := 24 * time.Hour
	maxDevices := int(portal.RememberFor/(7*day)) + 1 // one remembered a week, kept RememberFor
	maxAudit := auditPerDay * int(auditRetention/day+1)
	// Counters: the prune keeps those of the last window (24 h, pruned
	// daily), so one day's keys: per sign-in the address and the name
	// (password), the code counter; per guess its address and name;
	// a reset's address and name.
	maxAttempts := 3*signInsPerDay + 2*sprayPerDay + 2
	maxMailPerDay, maxEventsPerDay := 0, 0
	activityBefore := countRows(t, s, "activity")
	var addresses int
	total := portal.Pruned{}
	for d := 1; d <= yearDays; d++ {
		start := t0.Truncate(day).Add(time.Duration(d) * day)

		// The day: sign-ins from 08:00, two hours apart, each used a
		// while; half end with "sign out".
		for i := range signInsPerDay {
			y.now = start.Add(8*time.Hour + time.Duration(i)*2*time.Hour + time.Duration(y.rng.IntN(600))*time.Second)
			token, sess := y.signIn(d, i)
			if i == signInsPerDay-1 && len(y.recovery) <= 2 {
				y.now = y.now.Add(time.Minute) // the next time step: the sign-in used this one
				if y.recovery, err = y.svc.RegenerateRecoveryCodes(ctx, sess, y.code(), "198.51.100.7"); err != nil {
					t.Fatalf("day %d: new recovery codes: %v", d, err)
				}
			}
			for range 3 {
				y.now = y.now.Add(5 * time.Minute)
				if _, _, err := y.svc.Authenticate(ctx, token); err != nil {
					t.Fatalf("day %d: session in use: %v", d, err)
				}
			}
			if i%2 == 0 {
				if err := y.svc.Logout(ctx, sess, "198.51.100.7"); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Guesses at names that do not exist, from everywhere.
		y.now = start.Add(21 * time.Hour)
		for g := range sprayPerDay {
			addresses++
			ip := fmt.Sprintf("203.0.%d.%d", (addresses/250)%250, 1+addresses%250)
			if _, err := y.svc.Login(ctx, fmt.Sprintf("nobody%d-%d", d, g), "guess", ip, ""); portal.ErrorCode(err) != portal.EUNAUTHORIZED {
				t.Fatalf("day %d: guess: %v, want refused", d, err)
			}
		}
		// A reset link a week: used every eighth week, else left to expire.
		if d%7 == 3 {
			y.now = start.Add(21*time.Hour + 30*time.Minute)
			if err := y.svc.ForgotPassword(ctx, "busy", "198.51.100.9"); err != nil {
				t.Fatal(err)
			}
			tokens, _ := y.deliver()
			if len(tokens) == 1 && d%56 == 3 {
				y.now = y.now.Add(time.Minute)
				next := fmt.Sprintf("busy bee password %d", d)
				if err := y.svc.ResetPassword(ctx, tokens[0], next, next, y.code(), "", "198.51.100.9"); err != nil {
					t.Fatalf("day %d: reset: %v", d, err)
				}
				y.password, y.device = next, "" // a reset forgets the remembered devices
			}
		}
		if err := s.AddAudit(ctx, &portal.AuditEntry{Admin: "ann", Action: "looked up", Target: "busy", IP: "192.0.2.9", At: start.Add(22 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		y.now = start.Add(23 * time.Hour)
		_, created := y.deliver()
		maxMailPerDay = max(maxMailPerDay, created)

		// The next night the pruner runs, as the portal's loop does.
		y.now = start.Add(27 * time.Hour)
		activity := countRows(t, s, "activity")
		maxEventsPerDay = max(maxEventsPerDay, activity-activityBefore)
		events, err := s.Events(ctx, y.user.ID, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		pruned, err := y.svc.Prune(ctx)
		if err != nil {
			t.Fatalf("day %d: prune: %v", d, err)
		}
		activityBefore = countRows(t, s, "activity")
		for k, n := range pruned {
			total[k] += n
		}

		// Every event younger than the retention is still there, and
		// none older.
		cut := y.now.Add(-portal.DefaultActivityRetention)
		kept, err := s.Events(ctx, y.user.ID, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		keptIDs := map[int64]bool{}
		for _, e := range kept {
			keptIDs[e.ID] = true
			if e.At.Before(cut) {
				t.Fatalf("day %d: event %d at %v kept, older than the retention (cut %v)", d, e.ID, e.At, cut)
			}
		}
		young := 0
		for _, e := range events {
			if !e.At.Before(cut) {
				young++
				if !keptIDs[e.ID] {
					t.Fatalf("day %d: event %d at %v, younger than the retention, was pruned", d, e.ID, e.At)
				}
			}
		}
		if young != len(kept) || activityBefore != len(kept) {
			t.Fatalf("day %d: %d events kept, %d younger than the retention, %d rows", d, len(kept), young, activityBefore)
		}

		// The bounds.
		bounds := []struct {
			table string
			max   int
		}{
			// Pruned at 03:00, the last session was seen before 22:00:
			// past the idle timeout, all of them.
			{"sessions", 0},
			{"attempts", maxAttempts},
			{"remembered_devices", maxDevices},
			// The longest link lives 24 h (confirmation); a reset link 30 minutes.
			{"mail_tokens", maxTokensPerDay},
			// Sent or not, a message is kept KeepSentMail.
			{"outbox", maxMailPerDay * int(portal.KeepSentMail/day+1)},
			{"activity", maxEventsPerDay * int(portal.DefaultActivityRetention/day+1)},
			{"admin_audit", maxAudit},
			{"recovery_codes", portal.RecoveryCodeCount},
			{"users", 1},
		}
		for _, b := range bounds {
			if n := countRows(t, s, b.table); n > b.max {
				t.Fatalf("day %d: %d rows in %s after the prune (%v), bound %d", d, n, b.table, pruned, b.max)
			}
		}
		if d == yearDays {
			t.Logf("after %d days: pruned last night %v; rows: activity %d (bound %d, %d events/day at most), outbox %d, attempts %d, audit %d",
				d, pruned, activityBefore, maxEventsPerDay*int(portal.DefaultActivityRetention/day+1), maxEventsPerDay,
				countRows(t, s, "outbox"), countRows(t, s, "attempts"), countRows(t, s, "admin_audit"))
			// The year is full: the oldest event is about a year old,
			// so the prune took the ones before it.
			if oldest := kept[len(kept)-1].At; y.now.Sub(oldest) < portal.DefaultActivityRetention-2*day {
				t.Errorf("oldest event kept is from %v, not a year before %v: the simulation did not fill the retention", oldest, y.now)
			}
			if pruned[portal.PruneActivity] == 0 {
				t.Errorf("the last prune deleted no activity: %v", pruned)
			}
			// Every kind of row expired at some point of the year and went.
			for _, kind := range portal.PruneKinds() {
				if kind != portal.PruneSessionsAbsolute && total[kind] == 0 {
					t.Errorf("in %d days, no %s pruned (%v)", d, kind, total)
				}
			}
		}
	}
}
