package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"twofold.dev/desktop/vault"
)

// Pinned accounts: listed first in the window (vault.PinnedFirst), marked
// with a pin on their row, pinned and unpinned from the row's ⋮ menu.

// pinIcon is the mark on a pinned account's row: a drawing-pin head and
// needle, in the theme's primary colour.
var pinIcon = theme.NewPrimaryThemedResource(fyne.NewStaticResource("pin.svg", []byte(
	`<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">`+
		`<path fill="#000000" d="M7 3h10v2h-1.5v5.2L19 13v2h-6v6l-1 2-1-2v-6H5v-2l3.5-2.8V5H7z"/>`+
		`</svg>`)))

// pinItem is the ⋮ menu's item that pins a or unpins it.
func (u *UI) pinItem(a vault.Account) *fyne.MenuItem {
	if a.Pinned {
		return fyne.NewMenuItem("Unpin", func() { u.pin(a, false) })
	}
	return fyne.NewMenuItem("Pin to top", func() { u.pin(a, true) })
}

// pin pins or unpins an account, then lists the accounts again.
func (u *UI) pin(a vault.Account, pinned bool) {
	u.background("pinning", func(ctx context.Context) error {
		return u.store.Pin(ctx, a.ID, pinned)
	}, func(err error) {
		switch {
		case err != nil && pinned:
			u.showError("Cannot pin "+a.Label(), err)
		case err != nil:
			u.showError("Cannot unpin "+a.Label(), err)
		case pinned:
			u.setStatus("Pinned " + a.Label() + " to the top.")
		default:
			u.setStatus("Unpinned " + a.Label() + ".")
		}
		u.reload()
	})
}
