package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/qr"
)

// showAccountMenu shows the ⋮ menu of one account.
func (u *UI) showAccountMenu(a vault.Account, anchor fyne.CanvasObject) {
	menu := u.accountMenu(a)
	// Kept inside the window: the menu opens leftwards of a ⋮ at the
	// right edge, and upwards near the bottom.
	c := u.win.Canvas()
	m := widget.NewPopUpMenu(menu, c)
	pos := u.app.Driver().AbsolutePositionForObject(anchor).Add(fyne.NewPos(0, anchor.Size().Height))
	ms := m.MinSize()
	pos.X = max(0, min(pos.X, c.Size().Width-ms.Width))
	pos.Y = max(0, min(pos.Y, c.Size().Height-ms.Height))
	m.ShowAtPosition(pos)
}

// accountMenu is the ⋮ menu of one account.
func (u *UI) accountMenu(a vault.Account) *fyne.Menu {
	return fyne.NewMenu("",
		fyne.NewMenuItem("Copy code", func() { u.copyAccount(a) }),
		u.pinItem(a),
		fyne.NewMenuItem("Rename…", func() { u.showRename(a) }),
		fyne.NewMenuItem("Move up", func() { u.move(a, -1) }),
		fyne.NewMenuItem("Move down", func() { u.move(a, +1) }),
		fyne.NewMenuItem("Move to top", func() { u.moveTo(a, 0) }),
		fyne.NewMenuItem("Move to bottom", func() { u.moveTo(a, len(u.accounts)-1) }),
		fyne.NewMenuItem("Show as QR code…", func() { u.confirmShowQR(a) }),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Delete…", func() { u.confirmDelete(a) }),
	)
}

func (u *UI) showRename(a vault.Account) {
	issuer, account := u.newField(), u.newField()
	issuer.SetText(a.Issuer)
	account.SetText(a.Account)
	problem := widget.NewLabel("")
	problem.Importance = widget.DangerImportance
	problem.Hide()
	var d *dialog.CustomDialog
	var box *fyne.Container
	save := widget.NewButton("Save", func() {
		u.background("renaming", func(ctx context.Context) error {
			return u.store.Rename(ctx, a.ID, issuer.Text, account.Text)
		}, func(err error) {
			var lt *vault.LabelTakenError
			switch {
			case errors.As(err, &lt):
				problem.SetText(fmt.Sprintf("Another account (%s) is already called %s: choose another name.", vault.ShortID(lt.Existing.ID), lt.Label))
			case err != nil:
				problem.SetText(userWords(vault.Message(err)))
			default:
				d.Hide()
				u.reload()
				return
			}
			problem.Show()
			box.Refresh() // lays the shown line out under the form, not over the heading
			u.regrow(d, fyne.NewSize(440, 340))
		})
	})
	save.Importance = widget.HighImportance
	form := widget.NewForm(widget.NewFormItem("Issuer", issuer), widget.NewFormItem("Account", account))
	problem.Wrapping = fyne.TextWrapWord
	box = container.NewVBox(wrapped(a.Label()), form, problem)
	d = dialog.NewCustomWithoutButtons("Rename", container.NewVScroll(box), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), save})
	u.show(d, fyne.NewSize(440, 260), save.OnTapped)
	u.win.Canvas().Focus(issuer)
}

// move steps an account past its neighbour among the accounts shown: with
// a search active, past the next match, not past hidden accounts; pinned
// accounts move among the pinned ones, the others among the others.
func (u *UI) move(a vault.Account, by int) {
	i := slices.IndexFunc(u.shown, func(b vault.Account) bool { return b.ID == a.ID })
	if i < 0 || i+by < 0 || i+by >= len(u.shown) || u.shown[i+by].Pinned != a.Pinned {
		return
	}
	neighbour := u.shown[i+by].ID
	u.moveTo(a, slices.IndexFunc(u.accounts, func(b vault.Account) bool { return b.ID == neighbour }))
}

// moveTo puts an account at position to of the whole list (the stored
// order: to 0 puts an unpinned account first after the pinned ones).
func (u *UI) moveTo(a vault.Account, to int) {
	if to < 0 {
		return
	}
	u.background("reordering", func(ctx context.Context) error {
		return u.store.Move(ctx, a.ID, to)
	}, func(err error) {
		if err != nil {
			u.showError("Cannot move "+a.Label(), err)
		}
		u.reload()
	})
}

func (u *UI) confirmDelete(a vault.Account) {
	u.confirm("Delete "+a.Label()+"?",
		"This removes the account and its secret from the keyring. Make sure you can still log in to "+
			nameOr(a.Issuer, a.Account)+" another way (another device or recovery codes) before deleting.",
		"Delete", func() {
			u.background("deleting", func(ctx context.Context) error {
				return u.store.Delete(ctx, a.ID)
			}, func(err error) {
				if err != nil {
					u.showError("Cannot delete "+a.Label(), err)
				} else {
					u.setStatus("Deleted " + a.Label() + ".")
					u.forgetUse(a.ID)
				}
				u.reload()
			})
		})
}

func (u *UI) confirmShowQR(a vault.Account) {
	u.confirm("Show the secret of "+a.Label()+"?",
		"The QR code holds the secret key: anyone who sees it, or a screenshot of it, can make the same codes. "+
			"Show it only to scan it with your phone, with nobody watching.",
		"Show QR code", func() {
			var img fyne.CanvasObject
			var secret string
			u.background("reading "+a.Label(), func(ctx context.Context) error {
				k, err := u.store.Key(ctx, a.ID)
				if err != nil {
					return err
				}
				m, err := qr.Image(k.URI(), 480)
				if err != nil {
					return err
				}
				ci := canvas.NewImageFromImage(m)
				ci.FillMode = canvas.ImageFillContain
				ci.ScaleMode = canvas.ImageScalePixels
				ci.SetMinSize(fyne.NewSize(220, 220)) // larger when the dialog is
				img, secret = ci, k.SecretBase32()
				return nil
			}, func(err error) {
				if err != nil {
					u.showError("Cannot show "+a.Label(), err)
					return
				}
				key := widget.NewLabelWithStyle(secret, fyne.TextAlignCenter, fyne.TextStyle{Monospace: true})
				key.Wrapping = fyne.TextWrapBreak
				d := dialog.NewCustom("QR code", "Close", container.NewVScroll(container.NewVBox(wrapped(a.Label()), img, key)), u.win)
				u.show(d, fyne.NewSize(420, 560), nil)
			})
		})
}

func nameOr(issuer, account string) string {
	if issuer != "" {
		return issuer
	}
	return account
}

// confirm asks before doing something that cannot be undone.
func (u *UI) confirm(title, text, action string, fn func()) {
	var d *dialog.CustomDialog
	ok := widget.NewButton(action, func() { d.Hide(); fn() })
	ok.Importance = widget.DangerImportance
	head := wrapped(title)
	head.TextStyle = fyne.TextStyle{Bold: true}
	d = dialog.NewCustomWithoutButtons("Are you sure?", container.NewVScroll(container.NewVBox(head, wrapped(text))), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), ok})
	u.show(d, fyne.NewSize(440, 280), nil)
}

// showError is the one place errors reach the user: a title saying what
// failed and the store's message saying why and what to do.
func (u *UI) showError(title string, err error) {
	u.showMessage(title, vault.Message(err))
}

// showMessage shows a title and a text in the user's words; the title is
// the dialog's heading, kept short when long (titles do not wrap).
func (u *UI) showMessage(title, text string) {
	body := container.NewVBox(wrapped(userWords(text)))
	if utf8.RuneCountInString(title) > 26 {
		head := wrapped(title)
		head.TextStyle = fyne.TextStyle{Bold: true}
		body.Objects = append([]fyne.CanvasObject{head}, body.Objects...)
		title = "Twofold"
	}
	d := dialog.NewCustom(title, "OK", container.NewVScroll(body), u.win)
	u.show(d, fyne.NewSize(460, 280), d.Hide)
}

// checkOrphans looks once, after the first load, for accounts the keyring
// holds and the list lacks (a crash, a lost list), and offers them back.
func (u *UI) checkOrphans() {
	var orphans []vault.Account
	u.background("checking the keyring", func(ctx context.Context) (err error) {
		orphans, err = u.store.Orphans(ctx)
		return err
	}, func(err error) {
		if err != nil || len(orphans) == 0 {
			return // advice only: a keyring that cannot list is no error here
		}
		names := make([]string, len(orphans))
		for i, a := range orphans {
			names[i] = a.Label()
		}
		u.offerRepair("Accounts found in the keyring",
			fmt.Sprintf("%s in the keyring but not in the list: %s. Restore %s?", isAre(len(orphans)), strings.Join(names, ", "), themIt(len(orphans))),
			"Restore")
	})
}

// offerRepair asks before rebuilding the list from the keyring.
func (u *UI) offerRepair(title, text, action string) {
	var d *dialog.CustomDialog
	ok := widget.NewButton(action, func() { d.Hide(); u.repair() })
	ok.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons(title, wrapped(text), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Not now", func() { d.Hide() }), ok})
	u.show(d, fyne.NewSize(460, 240), nil) // held while the window is locked: it names accounts
}

// repair rebuilds the list from the keyring and says what it did.
func (u *UI) repair() {
	var r vault.RepairReport
	u.backgroundStatus("repairing the account list", func(ctx context.Context) (err error) {
		r, err = u.store.Repair(ctx)
		return err
	}, func(err error) {
		if err != nil {
			u.showError("Cannot repair the account list", err)
			return
		}
		u.reload()
		var msg []string
		if r.KeptAside != "" {
			msg = append(msg, "The damaged list was kept as "+r.KeptAside+".")
		}
		msg = append(msg, fmt.Sprintf("%s kept, %d restored from the keyring.", vault.Accounts(r.Kept), len(r.Restored)))
		for _, a := range r.Guessed {
			msg = append(msg, a.Label()+" had no name in the keyring: check its code and rename it.")
		}
		for _, a := range r.Missing {
			msg = append(msg, a.Label()+": its secret is gone from the keyring.")
		}
		u.showMessage("Account list repaired", strings.Join(msg, "\n"))
	})
}

// isAre is "1 account is" or "n accounts are".
func isAre(n int) string {
	if n == 1 {
		return "1 account is"
	}
	return vault.Accounts(n) + " are"
}

func themIt(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
