package ui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

func TestDamagedListOffersRepair(t *testing.T) {
	h := newHarness(t, Options{})
	h.add(aliceURI)
	h.store.Err = fmt.Errorf("the account list accounts.json is cut short (truncated): %w", vault.ErrIndexDamaged)
	h.u.reload()
	h.settle()
	got := text(h.top())
	for _, w := range []string{"The account list is damaged", "cut short", "kept aside", "[Repair]", "[Not now]"} {
		if !strings.Contains(got, w) {
			t.Errorf("dialog lacks %q:\n%s", w, got)
		}
	}
	h.tap(h.top(), "Repair")
	h.settle()
	got = text(h.top())
	if !strings.Contains(got, "Account list repaired") || !strings.Contains(got, "kept as memory.damaged") {
		t.Fatalf("after repair:\n%s", got)
	}
	h.tap(h.top(), "OK")
	if r := h.rows(); len(r) != 1 {
		t.Fatalf("%d rows after repair", len(r))
	}
}

func TestOrphansAreOfferedAtStart(t *testing.T) {
	a := test.NewTempApp(t)
	h := &harness{t: t, store: vault.NewMemory(), clock: newClock(1_700_000_005), queue: make(chan func(), 100)}
	h.store.Orphan(keyOf(t, aliceURI))
	h.u = newUI(a, h.store, h.clock.now, Options{}, func(f func()) { h.queue <- f })
	h.u.win.Resize(fyne.NewSize(460, 640))
	h.settle()
	got := text(h.top())
	if !strings.Contains(got, "1 account is in the keyring but not in the list: ACME:alice@example.com. Restore it?") || !strings.Contains(got, "[Restore]") {
		t.Fatalf("start-up dialog:\n%s", got)
	}
	h.tap(h.top(), "Restore")
	h.settle()
	h.tap(h.top(), "OK")
	if r := h.rows(); len(r) != 1 || !strings.Contains(r[0].name.Text, "alice@example.com") {
		t.Fatalf("rows after restoring: %d", len(r))
	}
}

func TestTakenLabelAsks(t *testing.T) {
	h := newHarness(t, Options{})
	old := h.add("otpauth://totp/Twofold%20Portal:joe?secret=JBSWY3DPEHPK3PXP")
	reset := keyOf(t, "otpauth://totp/Twofold%20Portal:joe?secret=KRUGS4ZANFZSAYJAONSWG4TFOQ")
	h.u.addKeys([]*totp.Key{reset}, nil)
	h.settle()
	got := text(h.top())
	if !strings.Contains(got, "Label already in use") || !strings.Contains(got, "[Replace]") || !strings.Contains(got, "[Keep both]") {
		t.Fatalf("dialog:\n%s", got)
	}
	h.tap(h.top(), "Keep both")
	if l := h.accounts(); len(l) != 2 {
		t.Fatalf("keep both: %d accounts", len(l))
	}
	h.u.addKeys([]*totp.Key{keyOf(t, "otpauth://totp/Twofold%20Portal:joe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY")}, nil)
	h.settle()
	h.tap(h.top(), "Replace")
	l := h.accounts()
	if len(l) != 1 || l[0].ID == old.ID {
		t.Fatalf("replace: %+v", l)
	}
}
