package ui

import (
	"context"
	"strings"
	"testing"
)

// TestOpenLinkShowsPreview: a link from the command line or a browser
// (`twofold otpauth://…`, or handed over by a second launch) opens the add
// preview; Add stores it.
func TestOpenLinkShowsPreview(t *testing.T) {
	h := newHarness(t, Options{})
	h.u.OpenLink(" " + aliceURI + "\n")
	h.settle()
	dlg := h.top()
	if got := text(dlg); !strings.Contains(got, "Found in the link") || !strings.Contains(got, "TOTP · SHA256 · 8 digits · every 30 s") {
		t.Fatalf("preview:\n%s", got)
	}
	h.tap(dlg, "Add")
	if l := h.accounts(); len(l) != 1 || l[0].Label() != "ACME:alice@example.com" {
		t.Fatalf("stored %+v", l)
	}
}

// TestOpenLinkEmptyOnlyRaises: a second launch without a link only brings
// the window to the front.
func TestOpenLinkEmptyOnlyRaises(t *testing.T) {
	h := newHarness(t, Options{})
	h.u.OpenLink("")
	h.settle()
	if o := h.u.win.Canvas().Overlays().Top(); o != nil {
		t.Fatalf("a dialog opened:\n%s", text(o))
	}
}

func TestOpenLinkBadLinkSaysWhy(t *testing.T) {
	h := newHarness(t, Options{})
	h.u.OpenLink("otpauth://totp/ACME:bob?secret=not!base32")
	h.settle()
	h.wantError("Not an account")
	if l := h.accounts(); len(l) != 0 {
		t.Fatalf("stored %+v", l)
	}
}

// TestReloadShowsOtherProcessChanges: accounts another process added or
// removed appear after Reload (main calls it when the index file changes).
func TestReloadShowsOtherProcessChanges(t *testing.T) {
	h := newHarness(t, Options{})
	a, err := h.store.Add(context.Background(), keyOf(t, aliceURI))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.rows()); n != 0 {
		t.Fatalf("%d rows before Reload", n)
	}
	h.u.Reload()
	h.settle()
	if rs := h.rows(); len(rs) != 1 || rs[0].issuer.Text != "ACME" {
		t.Fatalf("rows after Reload: %d", len(rs))
	}
	if err := h.store.Delete(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	h.u.Reload()
	h.settle()
	if n := len(h.rows()); n != 0 {
		t.Fatalf("%d rows after the account was removed", n)
	}
}
