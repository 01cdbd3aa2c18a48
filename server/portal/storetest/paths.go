package storetest

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/shared/totp"
)

// SignInPaths drives the Service on s through every path of sign-in, so
// that an adapter's test can look at the statements the store runs (its
// EXPLAIN test): a wrong password, the password step, the session read
// and touched, a wrong and a right code, a sign-in skipped by a
// remembered device, one with a recovery code, sign-out, and one
// Service.Prune of every kind. The account "pathuser" is set up first;
// record(true) is called when the paths start and record(false) when
// they end. now is the service's clock (near the data the test seeded).
func SignInPaths(t *testing.T, s portal.Store, now time.Time, record func(on bool)) {
	t.Helper()
	ctx := context.Background()
	keys, err := portal.NewKeys(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	cfg := portal.DefaultConfig()
	cfg.Password = portal.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	cfg.Retention.Audit = 2 * 365 * 24 * time.Hour // so that Prune runs every statement
	clock := now
	svc, err := portal.NewService(s, keys, cfg, func() time.Time { return clock }, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const name, password, ip = "pathuser", "path user password 1", "192.0.2.44"
	u, err := svc.AddUser(ctx, name, "Path User", "", password)
	if err != nil {
		t.Fatal(err)
	}
	_, sess, err := svc.BeginSession(ctx, nil, u, ip, "Test/1.0", "")
	if err != nil {
		t.Fatal(err)
	}
	key, err := svc.StartEnrollment(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	code := func() string {
		t.Helper()
		c, err := key.Code(clock)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	recovery, _, _, err := svc.CompleteEnrollment(ctx, sess, code(), ip)
	if err != nil {
		t.Fatal(err)
	}
	step := func() { clock = clock.Add(time.Duration(totp.DefaultPeriod) * time.Second) }
	// A remembered device to come back with.
	step()
	u, err = svc.Login(ctx, name, password, ip, "")
	if err != nil {
		t.Fatal(err)
	}
	_, sess, err = svc.BeginSession(ctx, nil, u, ip, "Test/1.0", "")
	if err != nil {
		t.Fatal(err)
	}
	in, err := svc.LoginCode(ctx, sess, u, code(), ip, true)
	if err != nil || in.Remembered == "" {
		t.Fatalf("remembering a device: %v", err)
	}
	remembered := in.Remembered

	record(true)
	defer record(false)
	step()
	if _, err := svc.Login(ctx, name, password+"x", ip, ""); portal.ErrorCode(err) != portal.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	if u, err = svc.Login(ctx, name, password, ip, ""); err != nil {
		t.Fatal(err)
	}
	token, sess, err := svc.BeginSession(ctx, nil, u, ip, "Test/1.0", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if wrong == code() {
		wrong = "000001"
	}
	if _, err := svc.LoginCode(ctx, sess, u, wrong, ip, false); portal.ErrorCode(err) != portal.EUNAUTHORIZED {
		t.Fatalf("wrong code: %v", err)
	}
	if in, err = svc.LoginCode(ctx, sess, u, code(), ip, false); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	full, _, err := svc.Authenticate(ctx, in.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Logout(ctx, full, ip); err != nil {
		t.Fatal(err)
	}
	// Back with the remembered device: no code asked.
	step()
	if u, err = svc.Login(ctx, name, password, ip, ""); err != nil {
		t.Fatal(err)
	}
	if _, sess, err = svc.BeginSession(ctx, nil, u, ip, "Test/1.0", remembered); err != nil || sess.Stage != portal.StageFull {
		t.Fatalf("remembered device: %v, stage %v", err, sess.Stage)
	}
	// A recovery code.
	step()
	if u, err = svc.Login(ctx, name, password, ip, ""); err != nil {
		t.Fatal(err)
	}
	if _, sess, err = svc.BeginSession(ctx, nil, u, ip, "Test/1.0", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.LoginRecovery(ctx, sess, u, recovery[0], ip); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Prune(ctx); err != nil {
		t.Fatal(err)
	}
}
