package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"twofold.dev/server/portal"
	"twofold.dev/server/portal/storetest"
	"twofold.dev/server/postgres"
)

// seedSQL fills every table the sign-in path and the pruner touch with
// 20,000 accounts' worth of rows, spread as a pruned portal holds them
// (nearly all within their retention), so that the planner chooses as it
// would in production rather than scan a table because it is tiny.
const seedSQL = `
INSERT INTO users (username, display_name, password_hash, totp_secret, created_at, email)
	SELECT 'user' || i, 'User ' || i, '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5', '\x00'::bytea,
	       now() - i * interval '1 minute', 'user' || i || '@example.com'
	FROM generate_series(1, 20000) i;
INSERT INTO sessions (id, user_id, stage, created_at, last_seen_at, auth_at, ip, user_agent)
	SELECT sha256(('s' || i)::bytea), 1 + i % 20000, 2, now() - (i % 600) * interval '1 minute',
	       now() - (i % 31) * interval '1 minute', now() - (i % 600) * interval '1 minute', '192.0.2.1', 'Browser/1.0'
	FROM generate_series(1, 40000) i;
INSERT INTO recovery_codes (user_id, code_hash, used_at)
	SELECT 1 + i / 10, sha256(('r' || i)::bytea), CASE WHEN i % 10 = 0 THEN now() END
	FROM generate_series(0, 199999) i;
INSERT INTO attempts (key, failures, locked_until, last_at)
	SELECT 'pw:ip:10.' || i, 1 + i % 7, CASE WHEN i % 50 = 0 THEN now() + interval '1 hour' ELSE 'epoch' END,
	       now() - (i % 1450) * interval '1 minute'
	FROM generate_series(1, 40000) i;
INSERT INTO activity (user_id, kind, ip, at)
	SELECT 1 + i % 20000, 'sign_in', '192.0.2.1', now() - (i % 527000) * interval '1 minute'
	FROM generate_series(1, 200000) i;
INSERT INTO remembered_devices (user_id, token_hash, browser, created_at, last_used_at, ip)
	SELECT 1 + i % 20000, sha256(('d' || i)::bytea), 'Browser', now() - (i % 30400) * interval '1 minute', now(), '192.0.2.1'
	FROM generate_series(1, 20000) i;
INSERT INTO mail_tokens (token_hash, user_id, purpose, address, created_at, expires_at)
	SELECT sha256(('t' || i)::bytea), 1 + i % 20000, 'confirm_email', 'a@example.com', now(), now() + (i % 1450 - 5) * interval '1 minute'
	FROM generate_series(1, 20000) i;
INSERT INTO outbox (message_id, recipient, subject, text_body, html_body, created_at, next_attempt_at, sent_at)
	SELECT 'm' || i || '@example.com', 'a@example.com', 'Subject', '', '', now() - (i % 43300) * interval '1 minute',
	       now() - (i % 43300) * interval '1 minute', CASE WHEN i % 100 <> 0 THEN now() - (i % 43300) * interval '1 minute' END
	FROM generate_series(1, 20000) i;
INSERT INTO admin_audit (admin, action, target, ip, at)
	SELECT 'ann', 'looked up', 'user' || i, '192.0.2.9', now() - i * interval '1 hour'
	FROM generate_series(1, 20000) i;
ANALYZE;
`

// bigTables are the tables seeded above: a Seq Scan of any is a failure.
var bigTables = []string{"users", "sessions", "recovery_codes", "attempts", "activity", "remembered_devices", "mail_tokens", "outbox", "admin_audit"}

type statement struct {
	sql  string
	args []any
}

// TestSignInPathUsesIndexes runs the sign-in paths and the pruner on a
// database of 20,000 accounts with a tracer on the pool, then EXPLAINs
// every statement the store sent, with the arguments it sent, and fails
// on a sequential scan of any seeded table.
func TestSignInPathUsesIndexes(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	var (
		mu         sync.Mutex
		on         bool
		seen       = map[string]bool{}
		statements []statement
	)
	db, err := postgres.OpenTraced(ctx, url, func(sql string, args []any) {
		mu.Lock()
		defer mu.Unlock()
		if on && !seen[sql] {
			seen[sql] = true
			statements = append(statements, statement{sql, args})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	start := time.Now()
	if _, err := conn.Exec(ctx, seedSQL, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("seeding: %v", err)
	}
	t.Logf("seeded and analysed in %v", time.Since(start).Round(time.Millisecond))
	var dbNow time.Time
	if err := conn.QueryRow(ctx, `SELECT now()`).Scan(&dbNow); err != nil {
		t.Fatal(err)
	}

	storetest.SignInPaths(t, db, dbNow, func(v bool) { mu.Lock(); on = v; mu.Unlock() })

	mu.Lock()
	defer mu.Unlock()
	touched := map[string]bool{}
	explained := 0
	for _, st := range statements {
		verb := strings.ToUpper(strings.Fields(st.sql)[0])
		if verb != "SELECT" && verb != "INSERT" && verb != "UPDATE" && verb != "DELETE" && verb != "WITH" {
			continue // begin, commit, savepoints
		}
		var out []byte
		if err := conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+st.sql, st.args...).Scan(&out); err != nil {
			t.Errorf("EXPLAIN %s: %v", st.sql, err)
			continue
		}
		explained++
		t.Logf("explained: %s", strings.Join(strings.Fields(st.sql), " "))
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
			t.Fatalf("EXPLAIN %s: %v in %s", st.sql, err, out)
		}
		for _, n := range plans[0].Plan.walk() {
			if n.Relation != "" {
				touched[n.Relation] = true
			}
			for _, big := range bigTables {
				if n.Type == "Seq Scan" && n.Relation == big {
					t.Errorf("Seq Scan on %s:\n%s\nplan: %s", big, st.sql, out)
				}
			}
		}
	}
	t.Logf("%d statements explained", explained)
	// Not vacuous: the paths reached every table, the pruner every kind.
	for _, big := range bigTables {
		if !touched[big] {
			t.Errorf("no statement on %s was explained", big)
		}
	}
	deletes := 0
	for _, st := range statements {
		if strings.HasPrefix(st.sql, "DELETE FROM") && strings.Contains(st.sql, "SKIP LOCKED") {
			deletes++
		}
	}
	if want := len(portal.PruneKinds()); deletes != want {
		t.Errorf("%d prune statements traced, want %d (one per kind)", deletes, want)
	}
}

// planNode is the part of EXPLAIN (FORMAT JSON) the test reads.
type planNode struct {
	Type     string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Plans    []planNode `json:"Plans"`
}

func (n planNode) walk() []planNode {
	out := []planNode{n}
	for _, c := range n.Plans {
		out = append(out, c.walk()...)
	}
	return out
}
