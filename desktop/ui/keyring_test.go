package ui

// The window on the real Secret Service (run through scripts/with-keyring.sh,
// as make test-desktop does): a damaged list is offered for repair and kept
// aside, an orphan found at start is offered back, renaming onto a taken
// label is refused, and the window takes HOTP codes and moves accounts while
// other Twofold processes add, remove and take codes.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"twofold.dev/desktop/keyring"
	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// patience is how long the window and processes wait for a keyring that
// fifty processes keep busy: these tests are about what is kept.
const patience = 5 * time.Minute

// realStore opens the keyring store of dir, failing (never skipping) when
// no Secret Service or tool the tests need is there.
func realStore(t *testing.T, dir string) *keyring.Store {
	t.Helper()
	for _, tool := range []string{"secret-tool", "oathtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (Debian packages libsecret-tools, oathtool): %v", tool, err)
		}
	}
	st, err := keyring.Open(keyring.Options{Dir: dir, Timeout: patience})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// realWindow is the window over a keyring store, started as main starts it.
func realWindow(t *testing.T, st vault.Store) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	h := &harness{t: t, clock: newClock(time.Now().Unix()), queue: make(chan func(), 1000)}
	h.u = newUI(a, st, h.clock.now, Options{}, func(f func()) { h.queue <- f })
	h.u.win.Resize(fyne.NewSize(460, 640))
	h.settle()
	return h
}

// randomSecret is a new 160-bit secret in base32.
func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 20)
	rand.Read(b)
	return (&totp.Key{Secret: b}).SecretBase32()
}

func mustAdd(t *testing.T, st vault.Store, uri string) vault.Account {
	t.Helper()
	a, err := st.Add(context.Background(), keyOf(t, uri))
	if err != nil {
		t.Fatalf("adding through the Secret Service (run the tests through scripts/with-keyring.sh): %v", err)
	}
	return a
}

func oath(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("oathtool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// shownCode is the code a row shows, digits only.
func shownCode(r *row) string { return strings.ReplaceAll(r.code.Text, " ", "") }

func TestRealKeyringDamagedListIsRepairedFromTheWindow(t *testing.T) {
	dir := t.TempDir()
	st := realStore(t, dir)
	s1, s2 := randomSecret(t), randomSecret(t)
	mustAdd(t, st, "otpauth://totp/GitHub:joe?secret="+s1+"&algorithm=SHA256&digits=8")
	mustAdd(t, st, "otpauth://hotp/Door:joe?secret="+s2+"&counter=7")
	index := filepath.Join(dir, keyring.IndexFile)
	garbage := []byte("\x00\x13garbage, not a list\xff")
	os.WriteFile(index, garbage, 0o600)

	h := realWindow(t, realStore(t, dir)) // a fresh start, as after a crash
	got := text(h.top())
	for _, w := range []string{"The account list is damaged", "kept aside", "[Repair]", "[Not now]"} {
		if !strings.Contains(got, w) {
			t.Errorf("start-up dialog lacks %q:\n%s", w, got)
		}
	}
	h.screenshot("damaged-list.png")
	h.tap(h.top(), "Repair")
	got = text(h.top())
	aside, _ := filepath.Glob(index + ".damaged-*")
	if len(aside) != 1 || !strings.Contains(got, "Account list repaired") || !strings.Contains(got, "The damaged list was kept as "+aside[0]) || !strings.Contains(got, "0 accounts kept, 2 restored") {
		t.Fatalf("after Repair (kept aside: %v):\n%s", aside, got)
	}
	if kept, _ := os.ReadFile(aside[0]); !bytes.Equal(kept, garbage) {
		t.Errorf("the file kept aside is not the damaged list: %q", kept)
	}
	h.screenshot("repaired.png")
	h.tap(h.top(), "OK")
	rows := h.rows()
	if len(rows) != 2 {
		t.Fatalf("%d rows after repair, want 2", len(rows))
	}
	for _, r := range rows {
		if r.acc.Issuer == "GitHub" {
			// The clock is the test's own: oathtool is asked at the same time.
			want := oath(t, "--totp=SHA256", "-d", "8", "-b", "-N", "@"+strconv.FormatInt(h.clock.now().Unix(), 10), s1)
			if shownCode(r) != want {
				t.Errorf("GitHub shows %q after repair, oathtool %q", r.code.Text, want)
			}
		}
	}
	h.tap(h.u.win.Content(), "Next code")
	for _, r := range h.rows() {
		if r.acc.Issuer == "Door" {
			if got, want := shownCode(r), oath(t, "--hotp", "-c", "7", "-b", s2); got != want {
				t.Errorf("restored HOTP shows %q, oathtool at counter 7 %q", got, want)
			}
		}
	}
}

func TestRealKeyringOrphanIsOfferedBackAtStart(t *testing.T) {
	dir := t.TempDir()
	st := realStore(t, dir)
	mustAdd(t, st, "otpauth://totp/Keep:me?secret="+randomSecret(t))
	lost := mustAdd(t, st, "otpauth://totp/Lost:me?secret="+randomSecret(t))
	// The list loses the account, as a crash between the keyring and the
	// list would leave it: the test edits the file with its own JSON.
	index := filepath.Join(dir, keyring.IndexFile)
	data, _ := os.ReadFile(index)
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	f["accounts"] = slices.DeleteFunc(f["accounts"].([]any), func(a any) bool { return a.(map[string]any)["id"] == lost.ID })
	data, _ = json.Marshal(f)
	os.WriteFile(index, data, 0o600)

	h := realWindow(t, realStore(t, dir))
	got := text(h.top())
	if !strings.Contains(got, "1 account is in the keyring but not in the list: Lost:me. Restore it?") || !strings.Contains(got, "[Restore]") {
		t.Fatalf("start-up dialog:\n%s", got)
	}
	h.screenshot("orphan-offered.png")
	h.tap(h.top(), "Restore")
	if got := text(h.top()); !strings.Contains(got, "1 account kept, 1 restored from the keyring") {
		t.Fatalf("after Restore:\n%s", got)
	}
	h.tap(h.top(), "OK")
	if rows := h.rows(); len(rows) != 2 {
		t.Fatalf("%d rows after restoring, want 2", len(rows))
	}
}

func TestRealKeyringRenameOntoATakenLabelIsRefused(t *testing.T) {
	dir := t.TempDir()
	st := realStore(t, dir)
	taken := mustAdd(t, st, "otpauth://totp/Twofold%20Portal:joe?secret="+randomSecret(t))
	other := mustAdd(t, st, "otpauth://totp/Mail:joe?secret="+randomSecret(t))
	h := realWindow(t, st)
	h.u.showRename(other)
	dlg := h.top()
	es := entries(dlg)
	es[0].SetText("twofold portal") // case aside, the same label
	h.tap(dlg, "Save")
	got := text(h.top())
	if !strings.Contains(got, "Another account ("+vault.ShortID(taken.ID)+") is already called twofold portal:joe: choose another name.") {
		t.Fatalf("rename onto a taken label:\n%s", got)
	}
	h.screenshot("rename-taken.png")
	l, err := st.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l[1].Label() != "Mail:joe" {
		t.Fatalf("the refused rename changed the account: %s", l[1].Label())
	}
	es[0].SetText("Post")
	h.tap(dlg, "Save")
	if l, _ := st.List(context.Background()); l[1].Label() != "Post:joe" {
		t.Fatalf("a free label was not taken: %s", l[1].Label())
	}
}

// TestWindowWhileProcessesChangeTheList: the window (on the real keyring)
// takes HOTP codes, moves the account and reloads while other twofold
// processes add, remove and take HOTP codes: every add reported is in the
// list the window shows, every counter value is used once, no orphan is
// left (secret-tool).
func TestWindowWhileProcessesChangeTheList(t *testing.T) {
	const n = 20
	dir := t.TempDir()
	st := realStore(t, dir)
	ctx := context.Background()
	hotpSecret := randomSecret(t)
	bank := mustAdd(t, st, "otpauth://hotp/Bank:counter?secret="+hotpSecret+"&digits=8&counter=0")
	if err := st.Pin(ctx, bank.ID, true); err != nil { // first row, never scrolled away
		t.Fatal(err)
	}
	var doomed []string
	for i := range n / 5 {
		doomed = append(doomed, mustAdd(t, st, fmt.Sprintf("otpauth://totp/Old:user%d?secret=%s", i, randomSecret(t))).ID)
	}
	bin := filepath.Join(t.TempDir(), "twofold")
	if out, err := exec.Command("go", "build", "-o", bin, "twofold.dev/desktop/cmd/twofold").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	h := realWindow(t, st)

	type result struct {
		kind, out string
		err       error
	}
	results := make(chan result, 100)
	var pending []*exec.Cmd
	var kinds []string
	start := func(kind string, args ...string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "TWOFOLD_CONFIG_DIR="+dir, "TWOFOLD_KEYRING_TIMEOUT="+patience.String(), "LANG=en_US.UTF-8")
		pending, kinds = append(pending, cmd), append(kinds, kind)
	}
	for i := range n {
		start("add", "add", fmt.Sprintf("otpauth://totp/New%d:user?secret=%s", i, randomSecret(t)))
	}
	for _, id := range doomed {
		start("remove", "remove", id[:8])
	}
	for range n / 2 {
		start("code", "code", bank.ID[:8])
	}
	total := len(pending)
	mrand.Shuffle(total, func(i, j int) {
		pending[i], pending[j] = pending[j], pending[i]
		kinds[i], kinds[j] = kinds[j], kinds[i]
	})

	var codes, windowCodes []string
	added := map[string]bool{}
	began := time.Now()
	for done := 0; done < total; {
		// A few more processes start at each turn of the window, so
		// that it always works while some are running.
		for range min(5, len(pending)) {
			cmd, kind := pending[0], kinds[0]
			pending, kinds = pending[1:], kinds[1:]
			go func() {
				out, err := cmd.CombinedOutput()
				results <- result{kind, string(out), err}
			}()
		}
		// The window at work: the next code, a move, a reload.
		if h.u.win.Canvas().Overlays().Top() != nil {
			t.Fatalf("the window shows a dialog:\n%s", text(h.top()))
		}
		h.tap(h.u.win.Content(), "Next code")
		windowCodes = append(windowCodes, shownCode(h.rows()[0]))
		h.u.moveTo(bank, len(windowCodes)%3)
		h.u.reload()
		h.settle()
		for more := true; more; {
			select {
			case r := <-results:
				done++
				if r.err != nil {
					t.Errorf("twofold %s: %v\n%s", r.kind, r.err, r.out)
					continue
				}
				switch r.kind {
				case "add":
					added[strings.TrimSpace(strings.TrimPrefix(r.out, "added "))] = true
				case "code":
					codes = append(codes, strings.TrimSpace(r.out))
				}
			default:
				more = false
			}
		}
	}
	h.u.reload()
	h.settle()
	t.Logf("%d processes beside the window, %v; the window took %d codes", total, time.Since(began), len(windowCodes))

	if len(added) != n {
		t.Errorf("%d of %d adds reported success", len(added), n)
	}
	shown := map[string]bool{}
	for _, a := range h.u.accounts {
		shown[a.Label()] = true
	}
	for label := range added {
		if !shown[label] {
			t.Errorf("%s was reported added but the window does not list it", label)
		}
	}
	if len(h.u.accounts) != n+1 {
		t.Errorf("the window lists %d accounts, want %d", len(h.u.accounts), n+1)
	}
	all := append(slices.Clone(codes), windowCodes...)
	want := strings.Fields(oath(t, "--hotp", "-d", "8", "-c", "0", "-w", strconv.Itoa(len(all)-1), "-b", hotpSecret))
	slices.Sort(all)
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("HOTP codes (%d by processes, %d by the window) are not those of counters 0..%d, each once:\n got %v\nwant %v", len(codes), len(windowCodes), len(want)-1, all, want)
	}
	// Every keyring item of this list is in it, and the other way round.
	out, _ := exec.Command("secret-tool", "search", "--all", "--unlock", "service", "twofold", "dir", dir).CombinedOutput()
	items := map[string]bool{}
	for _, m := range regexp.MustCompile(`attribute\.username = ([0-9a-f]+)`).FindAllStringSubmatch(string(out), -1) {
		items[m[1]] = true
	}
	for _, a := range h.u.accounts {
		if !items[a.ID] {
			t.Errorf("%s has no keyring item", a.Label())
		}
		delete(items, a.ID)
	}
	for id := range items {
		t.Errorf("orphan: keyring item %s is not in the list", id)
	}
}
