package keyring_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"twofold.dev/desktop/keyring"
	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// memBackend is an in-memory keyring with labels and attributes, for the
// fast tests beside the real Secret Service ones.
type memBackend struct {
	mu    sync.Mutex
	items map[string]memItem
}

type memItem struct {
	secret, label string
	attrs         map[string]string
}

func newMemBackend() *memBackend { return &memBackend{items: map[string]memItem{}} }

func (m *memBackend) Get(service, user string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[service+"/"+user]
	if !ok {
		return "", gokeyring.ErrNotFound
	}
	return it.secret, nil
}

func (m *memBackend) Set(service, user, secret string) error {
	return m.SetItem(service, user, secret, "Password for '"+user+"' on '"+service+"'", map[string]string{"service": service, "username": user})
}

func (m *memBackend) Delete(service, user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[service+"/"+user]; !ok {
		return gokeyring.ErrNotFound
	}
	delete(m.items, service+"/"+user)
	return nil
}

func (m *memBackend) SetItem(service, user, secret, label string, attrs map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[service+"/"+user] = memItem{secret, label, maps.Clone(attrs)}
	return nil
}

func (m *memBackend) Describe(service, user, label string, attrs map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[service+"/"+user]
	if !ok {
		return gokeyring.ErrNotFound
	}
	it.label, it.attrs = label, maps.Clone(attrs)
	m.items[service+"/"+user] = it
	return nil
}

func (m *memBackend) Items(service string) ([]keyring.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var items []keyring.Item
	for k, it := range m.items {
		if s, user, _ := strings.Cut(k, "/"); s == service {
			items = append(items, keyring.Item{User: user, Label: it.label, Attrs: maps.Clone(it.attrs)})
		}
	}
	return items, nil
}

func (m *memBackend) item(user string) memItem {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.items[keyring.Service+"/"+user]
}

func openMem(t testing.TB, dir string, b keyring.Backend) *keyring.Store {
	t.Helper()
	s, err := keyring.Open(keyring.Options{Dir: dir, Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testKey(i int) *totp.Key {
	return &totp.Key{Type: totp.TOTP, Issuer: "Site", Account: fmt.Sprintf("user%d", i), Secret: []byte(fmt.Sprintf("secret-%03d-padding", i)), Digits: 6, Period: 30}
}

// Many stores on one directory stand for many processes: each has its
// own file lock handle, as separate processes do.
func TestConcurrentStoresLoseNothing(t *testing.T) {
	const n = 40
	b := newMemBackend()
	dir := t.TempDir()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := openMem(t, dir, b).Add(ctx, testKey(i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, err := openMem(t, dir, b).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("%d accounts listed after %d concurrent adds", len(list), n)
	}
	if items, _ := b.Items(keyring.Service); len(items) != n {
		t.Fatalf("%d keyring items, want %d", len(items), n)
	}
}

func TestConcurrentHOTPNeverRepeatsACounter(t *testing.T) {
	b := newMemBackend()
	dir := t.TempDir()
	ctx := context.Background()
	h := &totp.Key{Type: totp.HOTP, Issuer: "Bank", Account: "joe", Secret: []byte("12345678901234567890"), Digits: 6, Counter: 3}
	a, err := openMem(t, dir, b).Add(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	const stores, each = 8, 10
	codes := make(chan string, stores*each)
	var wg sync.WaitGroup
	for range stores {
		s := openMem(t, dir, b)
		wg.Go(func() {
			for range each {
				c, err := s.NextHOTP(ctx, a.ID)
				if err != nil {
					t.Error(err)
					return
				}
				codes <- c
			}
		})
	}
	wg.Wait()
	close(codes)
	want := map[string]bool{}
	for n := uint64(3); n < 3+stores*each; n++ {
		c, _ := h.HOTPCode(n)
		want[c] = true
	}
	seen := map[string]bool{}
	for c := range codes {
		if seen[c] || !want[c] {
			t.Fatalf("code %s repeated or not from counters 3..%d", c, 3+stores*each-1)
		}
		seen[c] = true
	}
	list, _ := openMem(t, dir, b).List(ctx)
	if list[0].Counter != 3+stores*each {
		t.Fatalf("counter %d, want %d", list[0].Counter, 3+stores*each)
	}
	if got := b.item(a.ID).attrs[keyring.AttrCounter]; got != fmt.Sprint(3+stores*each) {
		t.Fatalf("counter mirrored in the keyring: %s, want %d", got, 3+stores*each)
	}
}

func TestBusyLockIsReportedInWords(t *testing.T) {
	b := newMemBackend()
	dir := t.TempDir()
	ctx := context.Background()
	held, release := make(chan struct{}), make(chan struct{})
	holder, err := keyring.Open(keyring.Options{Dir: dir, Backend: b, Crash: func(stage string) {
		if stage == "index-before-rename" {
			close(held)
			<-release
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { _, err := holder.Add(ctx, testKey(1)); done <- err }()
	<-held
	waiter, _ := keyring.Open(keyring.Options{Dir: dir, Backend: b, LockWait: 50 * time.Millisecond})
	_, err = waiter.Add(ctx, testKey(2))
	if !errors.Is(err, vault.ErrBusy) || !strings.Contains(err.Error(), "another Twofold kept locked") {
		t.Fatalf("Add while another store holds the lock: %v, want ErrBusy naming another Twofold", err)
	}
	if msg := vault.Message(err); !strings.Contains(msg, "close it") {
		t.Errorf("message %q does not say what to do", msg)
	}
	// The caller's context ends the wait too, and the item is taken back.
	patient, _ := keyring.Open(keyring.Options{Dir: dir, Backend: b, LockWait: time.Hour})
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := patient.Add(cctx, testKey(3)); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for the account list") {
		t.Fatalf("Add whose context ends while waiting: %v", err)
	}
	if items, _ := b.Items(keyring.Service); len(items) != 1 {
		t.Fatalf("%d keyring items while the first add holds the lock, want its one", len(items))
	}
	// Reading never waits for the lock.
	if _, err := waiter.List(ctx); err != nil {
		t.Fatalf("List while locked: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := waiter.Add(ctx, testKey(2)); err != nil {
		t.Fatalf("Add after the lock was released: %v", err)
	}
}

func TestLabelsStayDistinct(t *testing.T) {
	b := newMemBackend()
	s := openMem(t, t.TempDir(), b)
	ctx := context.Background()
	joe, err := s.Add(ctx, key(t, "otpauth://totp/Twofold%20Portal:joe?secret=JBSWY3DPEHPK3PXP"))
	if err != nil {
		t.Fatal(err)
	}
	reset := key(t, "otpauth://totp/Twofold%20Portal:joe?secret=KRUGS4ZANFZSAYJAONSWG4TFOQ")
	var taken *vault.LabelTakenError
	if _, err := s.Add(ctx, reset); !errors.As(err, &taken) || taken.Existing.ID != joe.ID {
		t.Fatalf("re-enrolled label: %v, want a LabelTakenError carrying the existing account", err)
	}
	if _, err := s.Add(ctx, key(t, "otpauth://totp/Twofold%20Portal:joe?secret=JBSWY3DPEHPK3PXP")); !errors.Is(err, vault.ErrDuplicate) {
		t.Fatalf("same label and secret: %v, want ErrDuplicate", err)
	}
	// Replace: the new secret in, the old account and item gone.
	nu, err := s.AddWith(ctx, reset, vault.ReplaceTaken)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := s.List(ctx)
	if len(list) != 1 || list[0].ID != nu.ID {
		t.Fatalf("after replace: %+v", list)
	}
	if _, err := b.Get(keyring.Service, joe.ID); !errors.Is(err, gokeyring.ErrNotFound) {
		t.Fatalf("the replaced account's item is still there: %v", err)
	}
	// Renaming onto a taken label is refused; onto its own, allowed.
	other, err := s.Add(ctx, key(t, "otpauth://totp/Mail:joe?secret=JBSWY3DPEHPK3PXP"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, other.ID, "twofold portal", "JOE"); !errors.As(err, &taken) || taken.Existing.ID != nu.ID {
		t.Fatalf("rename onto a taken label: %v", err)
	}
	if err := s.Rename(ctx, nu.ID, "Twofold Portal", "Joe"); err != nil {
		t.Fatalf("rename changing only case: %v", err)
	}
	if it := b.item(nu.ID); it.label != "Twofold: Twofold Portal (Joe)" || it.attrs[keyring.AttrAccount] != "Joe" {
		t.Fatalf("keyring item after rename: %q %v", it.label, it.attrs)
	}
}

func TestItemsCarryNameAndParameters(t *testing.T) {
	b := newMemBackend()
	dir := t.TempDir()
	s := openMem(t, dir, b)
	a, err := s.Add(context.Background(), key(t, "otpauth://hotp/GitHub:joe?secret=JBSWY3DPEHPK3PXP&algorithm=SHA512&digits=8&counter=5"))
	if err != nil {
		t.Fatal(err)
	}
	it := b.item(a.ID)
	want := map[string]string{"service": "twofold", "username": a.ID, "issuer": "GitHub", "account": "joe", "type": "hotp", "algorithm": "SHA512", "digits": "8", "counter": "5", "dir": dir}
	if it.label != "Twofold: GitHub (joe)" || !maps.Equal(it.attrs, want) {
		t.Fatalf("item label %q attributes %v, want %v", it.label, it.attrs, want)
	}
	for _, v := range it.attrs {
		if strings.Contains(v, "JBSWY3DPEHPK3PXP") {
			t.Fatal("an attribute holds the secret")
		}
	}
}

// damage is what a test does to the index before repairing.
var damage = map[string]func(path string) error{
	"deleted":   os.Remove,
	"truncated": func(p string) error { d, _ := os.ReadFile(p); return os.WriteFile(p, d[:len(d)/3], 0o600) },
	"garbage":   func(p string) error { return os.WriteFile(p, []byte("\x89PNG\r\n\x1a\n garbage"), 0o600) },
	"empty":     func(p string) error { return os.WriteFile(p, nil, 0o600) },
	"version":   func(p string) error { return os.WriteFile(p, []byte(`{"version":2,"accounts":[]}`), 0o600) },
}

func TestRepairRebuildsTheIndex(t *testing.T) {
	for name, spoil := range damage {
		t.Run(name, func(t *testing.T) {
			b := newMemBackend()
			dir := t.TempDir()
			ctx := context.Background()
			now := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
			s, _ := keyring.Open(keyring.Options{Dir: dir, Backend: b, Now: func() time.Time { return now }})
			var want []vault.Account
			for i := range 5 {
				a, err := s.Add(ctx, testKey(i))
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, a)
			}
			h, err := s.Add(ctx, &totp.Key{Type: totp.HOTP, Account: "door", Secret: []byte("hotp-secret-bytes!"), Algorithm: totp.SHA256, Digits: 8, Counter: 9})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.NextHOTP(ctx, h.ID); err != nil {
				t.Fatal(err)
			}
			h.Counter = 10
			want = append(want, h)
			path := filepath.Join(dir, keyring.IndexFile)
			if err := spoil(path); err != nil {
				t.Fatal(err)
			}
			spoilt, _ := os.ReadFile(path)

			r, err := s.Repair(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if name == "deleted" {
				if r.KeptAside != "" {
					t.Fatalf("a missing index was 'kept aside' as %s", r.KeptAside)
				}
			} else {
				if r.KeptAside != path+".damaged-20261130T040000Z" || r.Damage == "" {
					t.Fatalf("kept aside as %q (damage %q)", r.KeptAside, r.Damage)
				}
				if kept, _ := os.ReadFile(r.KeptAside); string(kept) != string(spoilt) {
					t.Fatal("the damaged index kept aside is not the damaged file")
				}
			}
			if len(r.Restored) != len(want) || len(r.Guessed) != 0 {
				t.Fatalf("restored %d (guessed %d), want %d", len(r.Restored), len(r.Guessed), len(want))
			}
			list, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			byID := map[string]vault.Account{}
			for _, a := range list {
				byID[a.ID] = a
			}
			for _, w := range want {
				if byID[w.ID] != w {
					t.Errorf("restored %+v, want %+v", byID[w.ID], w)
				}
			}
			// HOTP goes on from the mirrored counter: no code twice.
			code, err := s.NextHOTP(ctx, h.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := h.Key([]byte("hotp-secret-bytes!")).HOTPCode(10); code != c {
				t.Fatalf("HOTP after repair %s, want counter 10's %s", code, c)
			}
			// A second repair finds nothing to do.
			r, err = s.Repair(ctx)
			if err != nil || len(r.Restored) != 0 || r.KeptAside != "" || r.Kept != len(want) {
				t.Fatalf("second repair: %+v %v", r, err)
			}
		})
	}
}

func TestOrphansAreFoundAndRestored(t *testing.T) {
	b := newMemBackend()
	dir := t.TempDir()
	ctx := context.Background()
	s := openMem(t, dir, b)
	if _, err := s.Add(ctx, testKey(1)); err != nil {
		t.Fatal(err)
	}
	// A process dies between the keyring write and the index write.
	crashing, _ := keyring.Open(keyring.Options{Dir: dir, Backend: b, Crash: func(stage string) {
		if stage == "keyring-set" {
			panic("killed")
		}
	}})
	func() {
		defer func() { recover() }()
		crashing.Add(ctx, testKey(2))
	}()
	// An item written by an older Twofold: no attributes.
	old := "0123456789abcdef0123456789abcdef"
	if err := b.Set(keyring.Service, old, "JBSWY3DPEHPK3PXP"); err != nil {
		t.Fatal(err)
	}
	// Another program's item under the same service is not an account.
	b.Set(keyring.Service, "probe", "x")

	orphans, err := s.Orphans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(orphans) != 2 {
		t.Fatalf("orphans %+v, want the crashed add and the old item", orphans)
	}
	r, err := s.Repair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Restored) != 2 || len(r.Guessed) != 1 || r.Guessed[0].ID != old || r.Kept != 1 || r.Described != 0 {
		t.Fatalf("repair: %+v", r)
	}
	list, _ := s.List(ctx)
	if len(list) != 3 || list[1].Label() != "Restored:01234567" || list[2].Label() != "Site:user2" {
		t.Fatalf("after repair: %+v", list)
	}
	if orphans, _ := s.Orphans(ctx); len(orphans) != 0 {
		t.Fatalf("orphans after repair: %+v", orphans)
	}
	// The restored old item gets its attributes when next written.
	if err := s.Rename(ctx, old, "Old", "item"); err != nil {
		t.Fatal(err)
	}
	if it := b.item(old); it.label != "Twofold: Old (item)" || it.attrs[keyring.AttrType] != "totp" {
		t.Fatalf("old item after rename: %q %v", it.label, it.attrs)
	}
}

// An index listing an item written before items had attributes: repair
// describes it, and a vanished item is marked missing.
func TestRepairDescribesOldItems(t *testing.T) {
	b := newMemBackend()
	dir := t.TempDir()
	ctx := context.Background()
	plain := plainOnly{b} // hides SetItem: an older Twofold
	old := openMem(t, dir, plain)
	a, err := old.Add(ctx, testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	gone, err := old.Add(ctx, testKey(2))
	if err != nil {
		t.Fatal(err)
	}
	b.Delete(keyring.Service, gone.ID)
	if it := b.item(a.ID); it.attrs[keyring.AttrAccount] != "" {
		t.Fatalf("the plain backend wrote attributes: %v", it.attrs)
	}
	if _, err := old.Repair(ctx); !errors.Is(err, vault.ErrCannotList) {
		t.Fatalf("repair on a keyring that cannot list: %v", err)
	}
	r, err := openMem(t, dir, b).Repair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Described != 1 || len(r.Missing) != 1 || r.Missing[0].ID != gone.ID || len(r.Restored) != 0 {
		t.Fatalf("repair: %+v", r)
	}
	if it := b.item(a.ID); it.label != "Twofold: Site (user1)" || it.attrs[keyring.AttrAccount] != "user1" {
		t.Fatalf("old item after repair: %q %v", it.label, it.attrs)
	}
}

// plainOnly hides a backend's labels, attributes and listing, as go-keyring
// on macOS is.
type plainOnly struct{ keyring.Backend }

// On a keyring that cannot list (macOS), the catalog kept in the keyring
// rebuilds a lost index, over several catalog items.
func TestCatalogRebuildsWithoutListing(t *testing.T) {
	b := newMemBackend()
	dir := t.TempDir()
	ctx := context.Background()
	s, err := keyring.Open(keyring.Options{Dir: dir, Backend: plainOnly{b}, Catalog: true})
	if err != nil {
		t.Fatal(err)
	}
	var want []vault.Account
	for i := range 40 { // more than one catalog item's worth
		a, err := s.Add(ctx, testKey(i))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, a)
	}
	h, err := s.Add(ctx, &totp.Key{Type: totp.HOTP, Account: "door", Secret: []byte("hotp-secret-bytes!"), Digits: 6, Counter: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextHOTP(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	h.Counter = 5
	want = append(want, h)
	if err := s.Delete(ctx, want[7].ID); err != nil {
		t.Fatal(err)
	}
	want = append(want[:7], want[8:]...)
	catalog := 0
	for k := range b.items {
		if strings.Contains(k, "/catalog-") {
			catalog++
		}
	}
	if catalog < 2 {
		t.Fatalf("%d catalog items for 41 accounts, want several", catalog)
	}
	for k, it := range b.items {
		if strings.Contains(k, "/catalog-") && strings.Contains(it.secret, "secret-") {
			t.Fatal("the catalog holds a secret")
		}
	}
	// A secret gone from the keyring is not restored from the catalog.
	b.Delete(keyring.Service, want[0].ID)
	want = want[1:]
	os.Remove(filepath.Join(dir, keyring.IndexFile))
	if orphans, err := s.Orphans(ctx); err != nil || len(orphans) != len(want) {
		t.Fatalf("orphans from the catalog: %d, %v; want %d", len(orphans), err, len(want))
	}
	r, err := s.Repair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Restored) != len(want) {
		t.Fatalf("restored %d, want %d", len(r.Restored), len(want))
	}
	list, _ := s.List(ctx)
	got := map[string]vault.Account{}
	for _, a := range list {
		got[a.ID] = a
	}
	for _, w := range want {
		if got[w.ID] != w {
			t.Errorf("restored %+v, want %+v", got[w.ID], w)
		}
	}
	// Shrinking the list drops catalog items no longer needed.
	for _, a := range want[:34] {
		if err := s.Delete(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	catalog = 0
	for k := range b.items {
		if strings.Contains(k, "/catalog-") {
			catalog++
		}
	}
	if catalog != 1 {
		t.Fatalf("%d catalog items for 5 accounts, want 1", catalog)
	}
}

// A change waits for the lock at least as long as its holder may wait for
// the keyring inside it: 30 s, or three keyring timeouts when longer (a
// slow keyring made waiters give up while the holder was still allowed
// to wait).
func TestLockWaitCoversTheKeyringTimeout(t *testing.T) {
	for _, c := range []struct{ timeout, lockWait, want time.Duration }{
		{0, 0, 30 * time.Second},
		{10 * time.Second, 0, 30 * time.Second},
		{5 * time.Minute, 0, 15 * time.Minute},
		{5 * time.Minute, time.Second, time.Second},
	} {
		s, err := keyring.Open(keyring.Options{Dir: t.TempDir(), Backend: newMemBackend(), Timeout: c.timeout, LockWait: c.lockWait})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.LockWait(); got != c.want {
			t.Errorf("timeout %v, LockWait %v: waits %v, want %v", c.timeout, c.lockWait, got, c.want)
		}
	}
}

// TestOrphansWaitForAnAddUnderWay: between an Add's keyring write and its
// index write, another Twofold's Orphans does not call the new item lost
// (it says an add is under way); once the add is done there is no orphan.
func TestOrphansWaitForAnAddUnderWay(t *testing.T) {
	b := newMemBackend()
	dir := t.TempDir()
	ctx := context.Background()
	other := openMem(t, dir, b) // another process on the same directory
	var during []vault.Account
	var duringErr error
	adding, err := keyring.Open(keyring.Options{Dir: dir, Backend: b, Crash: func(stage string) {
		if stage == "keyring-set" {
			during, duringErr = other.Orphans(ctx)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adding.Add(ctx, testKey(1)); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(duringErr, keyring.ErrAdding) || !errors.Is(duringErr, vault.ErrBusy) || len(during) != 0 {
		t.Fatalf("Orphans during the add: %v, %v; want ErrAdding", during, duringErr)
	}
	if orphans, err := other.Orphans(ctx); err != nil || len(orphans) != 0 {
		t.Fatalf("Orphans after the add: %v, %v", orphans, err)
	}
}

// listingHook is a keyring that runs after once it has listed its items.
type listingHook struct {
	*memBackend
	after func()
}

func (l listingHook) Items(service string) ([]keyring.Item, error) {
	items, err := l.memBackend.Items(service)
	l.after()
	return items, err
}

// TestOrphansLockOnlyToRecheck: Orphans reads the keyring without the
// locks (at a thousand accounts, seconds of D-Bus calls), so another
// Twofold adds an account meanwhile without waiting; then, under the
// locks, it looks again at what the index lacked: the account added
// meanwhile is not lost, an item deleted meanwhile is gone, a lost one is
// reported.
func TestOrphansLockOnlyToRecheck(t *testing.T) {
	b := newMemBackend()
	dir := t.TempDir()
	ctx := context.Background()
	s := openMem(t, dir, b)
	if _, err := s.Add(ctx, testKey(1)); err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(dir, keyring.IndexFile)
	onlyFirst, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	lost, err := s.Add(ctx, testKey(2))
	if err != nil {
		t.Fatal(err)
	}
	goneSoon, err := s.Add(ctx, testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(index, onlyFirst, 0o600); err != nil { // the index loses two accounts
		t.Fatal(err)
	}
	other, err := keyring.Open(keyring.Options{Dir: dir, Backend: b, LockWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var addErr error
	var added vault.Account
	scanning, err := keyring.Open(keyring.Options{Dir: dir, Backend: listingHook{b, func() {
		added, addErr = other.Add(ctx, testKey(4))
		if err := b.Delete(keyring.Service, goneSoon.ID); err != nil {
			t.Error(err)
		}
	}}})
	if err != nil {
		t.Fatal(err)
	}
	orphans, err := scanning.Orphans(ctx)
	if addErr != nil {
		t.Fatalf("an add during the keyring listing: %v", addErr)
	}
	if err != nil || len(orphans) != 1 || orphans[0].ID != lost.ID {
		t.Fatalf("Orphans = %v, %v; want only %s (not %s, added meanwhile, nor %s, deleted)", orphans, err, lost.ID, added.ID, goneSoon.ID)
	}
}
