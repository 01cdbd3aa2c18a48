package sqlite_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/server/portal/storetest"
	"twofold.dev/server/sqlite"
)

// seedSQL fills the tables with 20,000 accounts' worth of rows, nearly
// all within their retention, as a pruned portal holds them; ANALYZE
// then gives the planner the statistics it would have in production.
// Times are Unix nanoseconds around ?now (replaced before running).
const seedSQL = `
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO users (username, display_name, password_hash, totp_secret, created_at, email)
	SELECT 'user' || i, 'User ' || i, 'h', x'00', NOW - i * 60000000000, 'user' || i || '@example.com' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000)
INSERT INTO sessions (id, user_id, stage, created_at, last_seen_at, auth_at, ip, user_agent)
	SELECT randomblob(32), 1 + i % 20000, 2, NOW - (i % 600) * 60000000000, NOW - (i % 31) * 60000000000,
	       NOW - (i % 600) * 60000000000, '192.0.2.1', 'Browser/1.0' FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 199999)
INSERT INTO recovery_codes (user_id, code_hash, used_at)
	SELECT 1 + i / 10, randomblob(32), CASE WHEN i % 10 = 0 THEN NOW END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000)
INSERT INTO attempts (key, failures, locked_until, last_at)
	SELECT 'pw:ip:10.' || i, 1 + i % 7, CASE WHEN i % 50 = 0 THEN NOW + 3600000000000 ELSE 0 END,
	       NOW - (i % 1450) * 60000000000 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO activity (user_id, kind, ip, at)
	SELECT 1 + i % 20000, 'sign_in', '192.0.2.1', NOW - (i % 527000) * 60000000000 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO remembered_devices (user_id, token_hash, browser, created_at, last_used_at, ip)
	SELECT 1 + i % 20000, randomblob(32), 'Browser', NOW - (i % 30400) * 60000000000, NOW, '192.0.2.1' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO mail_tokens (token_hash, user_id, purpose, address, created_at, expires_at)
	SELECT randomblob(32), 1 + i % 20000, 'confirm_email', 'a@example.com', NOW, NOW + (i % 1450 - 5) * 60000000000 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO outbox (message_id, recipient, subject, text_body, html_body, created_at, next_attempt_at, sent_at)
	SELECT 'm' || i || '@example.com', 'a@example.com', 'Subject', '', '', NOW - (i % 43300) * 60000000000,
	       NOW - (i % 43300) * 60000000000, CASE WHEN i % 100 <> 0 THEN NOW - (i % 43300) * 60000000000 END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO admin_audit (admin, action, target, ip, at)
	SELECT 'ann', 'looked up', 'user' || i, '192.0.2.9', NOW - i * 3600000000000 FROM n;
ANALYZE;
`

var bigTables = []string{"users", "sessions", "recovery_codes", "attempts", "activity", "remembered_devices", "mail_tokens", "outbox", "admin_audit"}

// TestSignInPathUsesIndexes runs the sign-in paths and the pruner on a
// database of 20,000 accounts, then runs EXPLAIN QUERY PLAN on every
// statement the store prepared meanwhile, and fails on a SCAN (the whole
// table, or the whole of an index) of a seeded table.
func TestSignInPathUsesIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	start := time.Now()
	if err := db.Exec(ctx, strings.ReplaceAll(seedSQL, "NOW", strconv.FormatInt(now.UnixNano(), 10))); err != nil {
		t.Fatalf("seeding: %v", err)
	}
	t.Logf("seeded and analysed in %v", time.Since(start).Round(time.Millisecond))

	var statements []string
	storetest.SignInPaths(t, db, now, func(on bool) {
		if on {
			db.ForgetStatements()
		} else {
			statements = db.Statements()
		}
	})
	touched := map[string]bool{}
	prunes := 0
	for _, sql := range statements {
		plan, err := db.QueryPlan(ctx, sql)
		if err != nil {
			t.Errorf("EXPLAIN QUERY PLAN %s: %v", sql, err)
			continue
		}
		if strings.HasPrefix(sql, "DELETE FROM") && strings.Contains(sql, "rowid IN (SELECT rowid") {
			prunes++
		}
		for _, line := range plan {
			f := strings.Fields(line)
			for _, big := range bigTables {
				if len(f) >= 2 && f[1] == big {
					touched[big] = true
					if f[0] == "SCAN" {
						t.Errorf("%s:\n%s\nplan: %v", line, sql, plan)
					}
				}
			}
		}
	}
	for _, big := range bigTables {
		if !touched[big] {
			t.Errorf("no statement on %s was explained", big)
		}
	}
	t.Logf("%d statements explained", len(statements))
	if want := len(portal.PruneKinds()); prunes != want {
		t.Errorf("%d prune statements ran, want %d (one per kind)", prunes, want)
	}
}
