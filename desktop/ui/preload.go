package ui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// Preload is what the window's first frame shows, read off the UI thread
// from before there is a window: the account list and the codes of the
// first rows. Main starts it before it makes and shows the window and
// gives it to New (Options.Preload): the keyring's answers then come
// while the window and its GL context are made, not after its first
// frame.
type Preload struct {
	now  time.Time
	done chan struct{} // closed when list and err are set
	list []vault.Account
	err  error
	// first are the accounts whose codes reads brings, when codes may be
	// read at start.
	first []vault.Account
	reads <-chan []codeRead
}

// StartPreload starts reading the list, and the first rows' codes unless
// the settings turn the app lock on (no code is read while locked) or
// keep the window in the tray at start.
func StartPreload(a fyne.App, store vault.Store, clock func() time.Time) *Preload {
	p := a.Preferences()
	return startPreload(store, clock(), defaultTimeout, !p.Bool(prefLock) && !p.Bool(prefStartInTray))
}

func startPreload(store vault.Store, now time.Time, timeout time.Duration, codes bool) *Preload {
	l := &Preload{now: now, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		l.list, l.err = store.List(ctx)
		if l.err == nil && codes {
			l.first = firstRows(l.list)
			l.reads = readCodesAt(store, timeout, l.first, now)
		}
	}()
	return l
}

// wait returns the list once it is read.
func (l *Preload) wait(ctx context.Context) ([]vault.Account, error) {
	select {
	case <-l.done:
		return l.list, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// firstRows are the TOTP accounts of list the first rows show, the
// search box empty: those the first tick would read.
func firstRows(list []vault.Account) []vault.Account {
	var first []vault.Account
	for _, a := range vault.PinnedFirst(list) {
		if len(first) == firstBatch {
			break
		}
		if a.Type == totp.TOTP && !a.Missing {
			first = append(first, a)
		}
	}
	return first
}

// codeRead is one account's code, or why it could not be read.
type codeRead struct {
	code string
	err  error
}

// readCodesAt reads the codes of accounts at now, several at once (the
// keyring answers each read in a few milliseconds over D-Bus), on its own
// goroutine: it touches nothing of the UI, so it may start before there
// is a window. The results arrive, in the accounts' order, on the channel.
func readCodesAt(store vault.Store, timeout time.Duration, accounts []vault.Account, now time.Time) <-chan []codeRead {
	done := make(chan []codeRead, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		results := make([]codeRead, len(accounts))
		inParallel(0, len(accounts), func(i int) {
			results[i].code, results[i].err = store.Code(ctx, accounts[i].ID, now)
		})
		done <- results
	}()
	return done
}
