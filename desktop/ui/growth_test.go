package ui

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// The window's own work at a thousand accounts on the test driver, which
// does not paint (the real window's frames are timed by twofold-bench
// group 7):
//
//	go test -run '^$' -bench Growth ./desktop/ui

// growthWindow is a window over n accounts in a memory store, with a
// function that runs its UI thread's queue until every background call
// is applied.
func growthWindow(tb testing.TB, n int) (*UI, *countingStore, func()) {
	tb.Helper()
	a := test.NewTempApp(tb)
	store := &countingStore{Memory: vault.NewMemory()}
	for i := range n {
		k := &totp.Key{Type: totp.TOTP, Issuer: fmt.Sprintf("Service %03d", i), Account: fmt.Sprintf("user%d@example.com", i),
			Secret: []byte(fmt.Sprintf("growth-secret-%04d", i)), Algorithm: totp.SHA1, Digits: 6, Period: 30}
		if _, err := store.Add(context.Background(), k); err != nil {
			tb.Fatal(err)
		}
	}
	queue := make(chan func(), 1000)
	store.clock = newClock(1_700_000_005)
	u := newUI(a, store, store.clock.now, Options{}, func(f func()) { queue <- f })
	u.win.Resize(fyne.NewSize(460, 600))
	settle := func() {
		tb.Helper()
		settleQueue(tb, u, queue)
	}
	settle()
	return u, store, settle
}

// countingStore counts the codes read, as keyring reads are counted.
type countingStore struct {
	*vault.Memory
	reads atomic.Int64
	clock *clock
}

func (s *countingStore) Code(ctx context.Context, id string, now time.Time) (string, error) {
	s.reads.Add(1)
	return s.Memory.Code(ctx, id, now)
}

// With a thousand accounts the window reads the codes its rows show, at
// start, after a scroll and at each time step: a window's worth, not a
// thousand; and every row on screen shows its account's right code.
func TestThousandAccountsReadOnlyTheRowsShown(t *testing.T) {
	u, store, settle := growthWindow(t, 1000)
	check := func(when string, maxReads int64) {
		t.Helper()
		if n := store.reads.Load(); n > maxReads {
			t.Errorf("%s: %d codes read, want at most %d", when, n, maxReads)
		}
		shown := 0
		for _, r := range u.rows {
			if !r.bound {
				continue
			}
			shown++
			k, err := store.Key(context.Background(), r.acc.ID)
			if err != nil {
				t.Fatal(err)
			}
			want, err := k.Code(store.clock.now())
			if err != nil {
				t.Fatal(err)
			}
			if strings.ReplaceAll(r.code.Text, " ", "") != want {
				t.Errorf("%s: the row of %s shows %q, want %s", when, r.acc.Label(), r.code.Text, want)
			}
		}
		if shown < 5 {
			t.Fatalf("%s: %d rows shown", when, shown)
		}
	}
	check("at start", 2*firstBatch)

	store.reads.Store(0)
	u.list.ScrollToBottom()
	settle()
	check("scrolled to the end", 2*firstBatch)
	if last := u.rows[len(u.rows)-1].acc; !strings.HasPrefix(last.Issuer, "Service 9") {
		t.Errorf("scrolled to the end, a row shows %s", last.Label())
	}

	store.reads.Store(0)
	u.search.SetText("Service 5")
	settle()
	check("searched", 2*firstBatch)

	store.reads.Store(0)
	store.clock.add(30 * time.Second)
	u.tick()
	settle()
	check("the next time step", 2*firstBatch)
}

// BenchmarkGrowthSearch is one search letter typed and cleared: the
// filter over every account, the list refreshed, the filled rows' codes
// read.
func BenchmarkGrowthSearch(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			u, _, settle := growthWindow(b, n)
			i := 0
			for b.Loop() {
				u.search.SetText(fmt.Sprint(2 + i%8))
				settle()
				u.search.SetText("")
				settle()
				i++
			}
		})
	}
}

// BenchmarkGrowthScroll is the list scrolled by a screen of rows and back.
func BenchmarkGrowthScroll(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			u, _, settle := growthWindow(b, n)
			i := 0
			for b.Loop() {
				u.list.ScrollTo((i * 7) % n)
				settle()
				i++
			}
		})
	}
}

// BenchmarkGrowthTick is one second of the window at rest.
func BenchmarkGrowthTick(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			u, _, settle := growthWindow(b, n)
			for b.Loop() {
				u.tick()
				settle()
			}
		})
	}
}
