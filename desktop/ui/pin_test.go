package ui

import (
	"context"
	"strings"
	"testing"
)

// shownOrder is the rows' labels in order, a pinned one marked with *.
func (h *harness) shownOrder() string {
	h.t.Helper()
	var got []string
	for _, r := range h.rows() {
		l := r.acc.Label()
		if r.pin.Visible() != r.acc.Pinned {
			h.t.Fatalf("row of %s: pin mark shown %v, pinned %v", l, r.pin.Visible(), r.acc.Pinned)
		}
		if r.pin.Visible() {
			l = "*" + l
			// Laid out, not only visible: the issuer moved aside for it.
			if r.pin.Size().Width == 0 || r.issuer.Position().X < r.pin.Size().Width {
				h.t.Fatalf("row of %s: pin of size %v, issuer at %v", l, r.pin.Size(), r.issuer.Position())
			}
		}
		got = append(got, l)
	}
	return strings.Join(got, ",")
}

// accountMenu is the ⋮ menu's item labels for the account labelled label,
// with the item labelled do chosen when do is not "".
func (h *harness) accountMenu(label, do string) []string {
	h.t.Helper()
	for _, r := range h.rows() {
		if r.acc.Label() != label {
			continue
		}
		var items []string
		for _, it := range h.u.accountMenu(r.acc).Items {
			items = append(items, it.Label)
			if it.Label == do && do != "" {
				it.Action()
				h.settle()
			}
		}
		return items
	}
	h.t.Fatalf("no row %s", label)
	return nil
}

func TestPinMovesToTopAndBack(t *testing.T) {
	h := newHarness(t, Options{})
	h.add("otpauth://totp/Work:x?secret=KRSXG5CTMVRXEZLA")
	h.add("otpauth://totp/Other:y?secret=KRSXG5CTMVRXEZLB")
	home := h.add("otpauth://totp/Home:z?secret=KRSXG5CTMVRXEZLC")
	mail := h.add("otpauth://totp/Mail:w?secret=KRSXG5CTMVRXEZLD")

	h.accountMenu("Home:z", "Pin to top")
	if got, want := h.shownOrder(), "*Home:z,Work:x,Other:y,Mail:w"; got != want {
		t.Fatalf("after pinning Home: %s, want %s", got, want)
	}
	if !strings.Contains(h.u.status.Text, "Pinned Home:z") {
		t.Fatalf("status %q", h.u.status.Text)
	}
	// A second pin goes after the first: pinned ones keep the list's order.
	h.u.pin(mail, true)
	h.settle()
	if got, want := h.shownOrder(), "*Home:z,*Mail:w,Work:x,Other:y"; got != want {
		t.Fatalf("after pinning Mail: %s, want %s", got, want)
	}
	h.screenshot("pinned.png") // for a person to look at the pin marks
	// The stored order is the user's; only the window puts pins first.
	if l := h.accounts(); l[2].ID != home.ID || !l[2].Pinned {
		t.Fatalf("stored list %+v", l)
	}
	// The menu offers what fits: Unpin on a pinned row, Pin on another.
	if items := strings.Join(h.accountMenu("Home:z", ""), "|"); !strings.Contains(items, "Unpin") || strings.Contains(items, "Pin to top") ||
		!strings.Contains(items, "Move to top") || !strings.Contains(items, "Move to bottom") {
		t.Fatalf("pinned row's menu: %s", items)
	}
	if items := strings.Join(h.accountMenu("Work:x", ""), "|"); !strings.Contains(items, "Pin to top") || strings.Contains(items, "Unpin") {
		t.Fatalf("unpinned row's menu: %s", items)
	}
	// Moving up stays among its kind: Work:x, first unpinned, stays put.
	h.u.move(h.u.shown[2], -1)
	h.settle()
	if got, want := h.shownOrder(), "*Home:z,*Mail:w,Work:x,Other:y"; got != want {
		t.Fatalf("after moving the first unpinned one up: %s, want %s", got, want)
	}
	h.u.move(h.u.shown[1], -1)
	h.settle()
	if got, want := h.shownOrder(), "*Mail:w,*Home:z,Work:x,Other:y"; got != want {
		t.Fatalf("after moving Mail up: %s, want %s", got, want)
	}

	// Pinned and search: a filter shows the matching accounts, pins first.
	h.u.search.SetText("o") // Home, Work, Other; not Mail:w
	if got, want := h.shownOrder(), "*Home:z,Work:x,Other:y"; got != want {
		t.Fatalf("search o: %s, want %s", got, want)
	}
	h.u.search.SetText("other")
	if got, want := h.shownOrder(), "Other:y"; got != want {
		t.Fatalf("search other: %s, want %s", got, want)
	}
	h.u.copySelected() // the only match is copied, pinned or not
	h.settle()
	if !strings.Contains(h.u.status.Text, "Copied the code of Other:y") {
		t.Fatalf("status %q", h.u.status.Text)
	}
	h.u.search.SetText("")

	// Unpinned, Home goes back to its place among the others.
	h.accountMenu("Home:z", "Unpin")
	if got, want := h.shownOrder(), "*Mail:w,Work:x,Other:y,Home:z"; got != want {
		t.Fatalf("after unpinning Home: %s, want %s", got, want)
	}
	if a := h.accounts(); a[3].Pinned || a[3].ID != home.ID {
		t.Fatalf("stored after unpin: %+v", a)
	}
}

func TestPinFailureIsSaid(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.add("otpauth://totp/Work:x?secret=KRSXG5CTMVRXEZLA")
	if err := h.store.Delete(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	h.u.pin(a, true)
	h.settle()
	h.wantError("Cannot pin Work:x", "no such account")
}
