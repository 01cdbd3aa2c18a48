package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/qr"
)

// showAccountMenu is the ⋮ menu of one account.
func (u *UI) showAccountMenu(a vault.Account, anchor fyne.CanvasObject) {
	menu := fyne.NewMenu("",
		fyne.NewMenuItem("Copy code", func() { u.copyAccount(a) }),
		fyne.NewMenuItem("Rename…", func() { u.showRename(a) }),
		fyne.NewMenuItem("Move up", func() { u.move(a, -1) }),
		fyne.NewMenuItem("Move down", func() { u.move(a, +1) }),
		fyne.NewMenuItem("Show as QR code…", func() { u.confirmShowQR(a) }),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Delete…", func() { u.confirmDelete(a) }),
	)
	pos := u.app.Driver().AbsolutePositionForObject(anchor).Add(fyne.NewPos(0, anchor.Size().Height))
	widget.ShowPopUpMenuAtPosition(menu, u.win.Canvas(), pos)
}

func (u *UI) showRename(a vault.Account) {
	issuer, account := widget.NewEntry(), widget.NewEntry()
	issuer.SetText(a.Issuer)
	account.SetText(a.Account)
	problem := widget.NewLabel("")
	problem.Importance = widget.DangerImportance
	problem.Hide()
	var d *dialog.CustomDialog
	save := widget.NewButton("Save", func() {
		u.background("renaming", func(ctx context.Context) error {
			return u.store.Rename(ctx, a.ID, issuer.Text, account.Text)
		}, func(err error) {
			if err != nil {
				problem.SetText(vault.Message(err))
				problem.Show()
				return
			}
			d.Hide()
			u.reload()
		})
	})
	save.Importance = widget.HighImportance
	form := widget.NewForm(widget.NewFormItem("Issuer", issuer), widget.NewFormItem("Account", account))
	d = dialog.NewCustomWithoutButtons("Rename "+a.Label(), container.NewVBox(form, problem), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), save})
	d.Resize(fyne.NewSize(420, 220))
	d.Show()
}

func (u *UI) move(a vault.Account, by int) {
	i := -1
	for j, b := range u.accounts {
		if b.ID == a.ID {
			i = j
		}
	}
	if i < 0 || i+by < 0 || i+by >= len(u.accounts) {
		return
	}
	u.background("reordering", func(ctx context.Context) error {
		return u.store.Move(ctx, a.ID, i+by)
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
				m, err := qr.Image(k.URI(), 300)
				if err != nil {
					return err
				}
				ci := canvas.NewImageFromImage(m)
				ci.FillMode = canvas.ImageFillContain
				ci.ScaleMode = canvas.ImageScalePixels
				ci.SetMinSize(fyne.NewSize(300, 300))
				img, secret = ci, k.SecretBase32()
				return nil
			}, func(err error) {
				if err != nil {
					u.showError("Cannot show "+a.Label(), err)
					return
				}
				key := widget.NewLabelWithStyle(secret, fyne.TextAlignCenter, fyne.TextStyle{Monospace: true})
				key.Wrapping = fyne.TextWrapBreak
				d := dialog.NewCustom(a.Label(), "Close", container.NewVBox(img, key), u.win)
				d.Show()
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
	d = dialog.NewCustomWithoutButtons(title, wrapped(text), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), ok})
	d.Resize(fyne.NewSize(440, 220))
	d.Show()
}

// showError is the one place errors reach the user: a title saying what
// failed and the store's message saying why and what to do.
func (u *UI) showError(title string, err error) {
	u.showMessage(title, vault.Message(err))
}

func (u *UI) showMessage(title, text string) {
	d := dialog.NewCustom(title, "OK", wrapped(fmt.Sprint(text)), u.win)
	d.Resize(fyne.NewSize(460, 240))
	u.withEnter(d, d.Hide)
	d.Show()
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
			fmt.Sprintf("%d accounts are in the keyring but not in the list: %s. Restore them?", len(orphans), strings.Join(names, ", ")),
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
	d.Resize(fyne.NewSize(460, 240))
	d.Show()
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
		msg = append(msg, fmt.Sprintf("%d accounts kept, %d restored from the keyring.", r.Kept, len(r.Restored)))
		for _, a := range r.Guessed {
			msg = append(msg, a.Label()+" had no name in the keyring: check its code and rename it.")
		}
		for _, a := range r.Missing {
			msg = append(msg, a.Label()+": its secret is gone from the keyring.")
		}
		u.showMessage("Account list repaired", strings.Join(msg, "\n"))
	})
}
