package ui

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/qr"
)

// Backups and moving accounts: the Backup menu's encrypted export, the
// Google Authenticator transfer codes and the automatic backup folder, and
// opening encrypted backups and text files of URIs.

// backupMenu is the window's Backup menu.
func (u *UI) backupMenu() *fyne.Menu {
	return fyne.NewMenu("Backup",
		&fyne.MenuItem{Label: "Export encrypted backup…", Action: u.showExport},
		&fyne.MenuItem{Label: "Export to Google Authenticator…", Action: u.confirmGAExport},
		fyne.NewMenuItemSeparator(),
		&fyne.MenuItem{Label: "Automatic backups…", Action: u.showBackupSettings},
	)
}

func (u *UI) random() io.Reader {
	if u.opts.Rand != nil {
		return u.opts.Rand
	}
	return rand.Reader
}

// withAutoBackup makes every change to the store ask for an automatic
// backup (written off the UI thread; a failure is said in the status line).
func (u *UI) withAutoBackup(st vault.Store) vault.Store {
	b := u.opts.Backups
	if b == nil {
		return st
	}
	return &vault.Notifying{Store: st, Changed: func() {
		b.Notify(st, func(path string, err error) {
			u.do(func() {
				switch {
				case err != nil:
					u.setStatus("Automatic backup failed: " + vault.Message(err))
				case path != "":
					u.setStatus("Backed up to " + filepath.Base(path) + ".")
				}
			})
		})
	}}
}

// newPasswordForm is a password asked twice, and a line for what is wrong.
type newPasswordForm struct {
	pw, again *field
	problem   *widget.Label
}

func (u *UI) newPasswordFields() *newPasswordForm {
	f := &newPasswordForm{pw: u.newPasswordField(), again: u.newPasswordField(), problem: widget.NewLabel("")}
	f.pw.SetPlaceHolder("Password")
	f.again.SetPlaceHolder("The same password again")
	f.problem.Importance = widget.DangerImportance
	f.problem.Wrapping = fyne.TextWrapWord // shown empty: a dialog does not lay out again when a hidden label appears
	return f
}

func (f *newPasswordForm) fail(msg string) { f.problem.SetText(msg) }

// password is the password when both fields agree and it is not empty.
func (f *newPasswordForm) password() ([]byte, bool) {
	switch {
	case f.pw.Text == "":
		f.fail("Choose a password: the backup is encrypted with it.")
		return nil, false
	case f.pw.Text != f.again.Text:
		f.fail("The two passwords differ.")
		return nil, false
	}
	return []byte(f.pw.Text), true
}

// showExport asks for a password, then where to save the encrypted backup.
func (u *UI) showExport() {
	f := u.newPasswordFields()
	info := wrapped("Writes every account to one encrypted file (Aegis's vault format). " +
		"Restore it here with Open image or backup…, or on a phone in Aegis (Import → Aegis). " +
		"Without the password nobody can open it, you included: keep it safe.")
	var d *dialog.CustomDialog
	next := widget.NewButton("Choose file…", func() {
		pw, ok := f.password()
		if !ok {
			return
		}
		d.Hide()
		u.saveFile("twofold-backup.json", func(w io.WriteCloser, name string, err error) {
			if err != nil {
				u.showError("Cannot write the backup", err)
				return
			}
			if w == nil {
				return // cancelled
			}
			u.writeExport(w, name, pw)
		})
	})
	next.Importance = widget.HighImportance
	form := widget.NewForm(widget.NewFormItem("Password", f.pw), widget.NewFormItem("Again", f.again))
	d = dialog.NewCustomWithoutButtons("Export backup",
		container.NewVScroll(container.NewVBox(info, form, f.problem)), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), next})
	u.show(d, fyne.NewSize(460, 380), next.OnTapped)
	u.win.Canvas().Focus(f.pw)
}

// saveFile asks where to save (Options.SaveFile in tests).
func (u *UI) saveFile(name string, then func(w io.WriteCloser, name string, err error)) {
	if u.opts.SaveFile != nil {
		u.opts.SaveFile(name, then)
		return
	}
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			then(nil, "", err)
			return
		}
		then(private{w}, w.URI().Name(), nil)
	}, u.win)
	d.SetFileName(name)
	u.show(d, fyne.NewSize(800, 600), nil)
}

// private closes a saved file and makes it readable by its owner only: it
// holds every secret, encrypted or not.
type private struct{ fyne.URIWriteCloser }

func (p private) Close() error {
	err := p.URIWriteCloser.Close()
	if u := p.URI(); err == nil && u.Scheme() == "file" {
		err = os.Chmod(u.Path(), 0o600)
	}
	return err
}

// writeExport encrypts every account with password and writes it to w.
func (u *UI) writeExport(w io.WriteCloser, name string, password []byte) {
	var n int
	var missing []string
	u.background("exporting", func(ctx context.Context) error {
		data, ex, err := u.encryptAll(ctx, password)
		if err != nil {
			w.Close()
			return err
		}
		if _, err := w.Write(data); err != nil {
			w.Close()
			return err
		}
		n, missing = len(ex.Keys), ex.Missing
		return w.Close()
	}, func(err error) {
		if err != nil {
			u.showError("Cannot write the backup", err)
			return
		}
		msg := fmt.Sprintf("%s written to %s, encrypted with your password.", vault.Accounts(n), name)
		if len(missing) > 0 {
			msg += "\nNot in it (secret missing from the keyring): " + strings.Join(missing, ", ") + "."
		}
		u.showMessage("Backup written", msg)
	})
}

// encryptAll is every account as an encrypted Aegis vault.
func (u *UI) encryptAll(ctx context.Context, password []byte) ([]byte, *vault.Export, error) {
	ex, err := vault.ExportKeys(ctx, u.store)
	if err != nil {
		return nil, nil, err
	}
	if len(ex.Keys) == 0 {
		return nil, nil, errors.New("there are no accounts to export")
	}
	data, err := vault.EncryptAegis(ex.Keys, ex.Pinned, password, u.random())
	return data, ex, err
}

// confirmGAExport warns that the codes hold the secrets before showing them.
func (u *UI) confirmGAExport() {
	var d *dialog.CustomDialog
	text := wrapped("The next screens show QR codes that hold the secrets of your accounts: anyone who sees or photographs them " +
		"can make your codes. Make sure nobody else can see your screen.\n\n" +
		"In Google Authenticator on the phone: Transfer accounts → Import accounts, then scan each code in turn.")
	show := widget.NewButton("Show codes", func() { d.Hide(); u.exportGA() })
	show.Importance = widget.WarningImportance
	d = dialog.NewCustomWithoutButtons("To Google Authenticator", container.NewVScroll(text), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), show})
	u.show(d, fyne.NewSize(480, 320), nil)
}

// gaQRSize is the drawn side of a transfer code: ten accounts make a dense
// code, and a phone camera needs room.
const gaQRSize = 640

func (u *UI) exportGA() {
	var ga *vault.GAExport
	var missing []string
	var imgs []image.Image
	u.background("reading the accounts", func(ctx context.Context) error {
		ex, err := vault.ExportKeys(ctx, u.store)
		if err != nil {
			return err
		}
		missing = ex.Missing
		var id [4]byte
		if _, err := io.ReadFull(u.random(), id[:]); err != nil {
			return err
		}
		if ga, err = vault.GoogleAuthenticator(ex.Keys, int32(binary.BigEndian.Uint32(id[:])&0x7fffffff)); err != nil {
			return err
		}
		for _, uri := range ga.URIs {
			img, err := qr.Image(uri, gaQRSize)
			if err != nil {
				return err
			}
			imgs = append(imgs, img)
		}
		return nil
	}, func(err error) {
		if err != nil {
			u.showError("Cannot export to Google Authenticator", err)
			return
		}
		u.showGACodes(ga, imgs, missing)
	})
}

// showGACodes shows the transfer codes one at a time, "1 of 3", with Back
// and Next, and names the accounts left out.
func (u *UI) showGACodes(ga *vault.GAExport, imgs []image.Image, missing []string) {
	img := canvas.NewImageFromImage(imgs[0])
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScalePixels
	img.SetMinSize(fyne.NewSize(260, 260)) // grows with the dialog; the scroll holds the rest
	page := widget.NewLabel("")
	page.Alignment = fyne.TextAlignCenter
	page.TextStyle = fyne.TextStyle{Bold: true}
	box := container.NewVBox(page, img)
	var notes []string
	for _, r := range ga.Refused {
		notes = append(notes, "Not included (Google Authenticator cannot hold it): "+r)
	}
	for _, m := range missing {
		notes = append(notes, "Not included (secret missing from the keyring): "+m)
	}
	notes = append(notes, ga.Warnings...)
	for _, n := range notes {
		l := wrapped(n)
		l.Importance = widget.WarningImportance
		box.Add(l)
	}
	i := 0
	var back, next *widget.Button
	var d *dialog.CustomDialog
	show := func() {
		img.Image = imgs[i]
		img.Refresh()
		page.SetText(fmt.Sprintf("%d of %d  ·  %s in all", i+1, len(imgs), vault.Accounts(len(ga.Keys))))
		if i == 0 {
			back.Disable()
		} else {
			back.Enable()
		}
		if i == len(imgs)-1 {
			next.SetText("Done")
		} else {
			next.SetText("Next")
		}
	}
	back = widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), func() { i--; show() })
	next = widget.NewButtonWithIcon("Next", theme.NavigateNextIcon(), func() {
		if i == len(imgs)-1 {
			d.Hide()
			return
		}
		i++
		show()
	})
	next.Importance = widget.HighImportance
	show()
	d = dialog.NewCustomWithoutButtons("Scan with the phone", container.NewVScroll(box), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Close", func() { d.Hide() }), back, next})
	u.show(d, fyne.NewSize(480, 640), next.OnTapped)
}

// showBackupSettings sets, changes or turns off the automatic backups.
func (u *UI) showBackupSettings() {
	b := u.opts.Backups
	if b == nil {
		u.showMessage("Automatic backups", "Automatic backups are not available in this window.")
		return
	}
	s, err := b.Settings()
	if err != nil {
		u.showError("Cannot read the backup settings", err)
		return
	}
	folder := u.newField()
	folder.SetPlaceHolder("e.g. a folder on a USB stick or a synced drive")
	folder.SetText(s.Dir)
	choose := widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), func() {
		dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
			if err == nil && l != nil {
				folder.SetText(l.Path())
			}
		}, u.win).Show()
	})
	keep := u.newField()
	keep.SetText(strconv.Itoa(max(s.Keep, 1)))
	if s.Keep == 0 {
		keep.SetText(strconv.Itoa(vault.DefaultKeep))
	}
	f := u.newPasswordFields()
	state := "Automatic backups are off."
	if s.Dir != "" {
		state = fmt.Sprintf("On: backups go to %s, the newest %d kept. Give the password again to change anything.", s.Dir, s.Keep)
	}
	info := wrapped("After every change, an encrypted backup of all accounts (Aegis's vault format) is written to this folder, " +
		"and the newest ones are kept. The password is kept in the system keyring; note it somewhere safe too: " +
		"without it the backups cannot be opened.")
	form := widget.NewForm(
		widget.NewFormItem("Folder", container.NewBorder(nil, nil, nil, choose, folder)),
		widget.NewFormItem("Keep", keep),
		widget.NewFormItem("Password", f.pw),
		widget.NewFormItem("Again", f.again),
	)
	var d *dialog.CustomDialog
	save := widget.NewButtonWithIcon("Save", theme.ConfirmIcon(), func() {
		n, err := strconv.Atoi(strings.TrimSpace(keep.Text))
		switch {
		case strings.TrimSpace(folder.Text) == "":
			f.fail("Choose a folder.")
			return
		case err != nil || n < 1:
			f.fail("Keep: a whole number, at least 1.")
			return
		}
		pw, ok := f.password()
		if !ok {
			return
		}
		settings := vault.BackupSettings{Dir: strings.TrimSpace(folder.Text), Keep: n}
		var path string
		u.backgroundStatus("Writing the first backup…", func(ctx context.Context) (err error) {
			if err := b.Enable(ctx, settings, pw); err != nil {
				return err
			}
			path, err = b.Write(ctx, u.store)
			return err
		}, func(err error) {
			if err != nil {
				f.fail(vault.Message(err))
				return
			}
			d.Hide()
			u.setStatus("Automatic backups on; first backup: " + filepath.Base(path) + ".")
		})
	})
	save.Importance = widget.HighImportance
	buttons := []fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() })}
	if s.Dir != "" {
		buttons = append(buttons, widget.NewButton("Turn off", func() {
			u.background("turning backups off", b.Disable, func(err error) {
				if err != nil {
					f.fail(vault.Message(err))
					return
				}
				d.Hide()
				u.setStatus("Automatic backups are off; the backups written stay in " + s.Dir + ".")
			})
		}))
	}
	d = dialog.NewCustomWithoutButtons("Automatic backups",
		container.NewVScroll(container.NewVBox(wrapped(state), info, form, f.problem)), u.win)
	d.SetButtons(append(buttons, save))
	u.show(d, fyne.NewSize(480, 520), save.OnTapped)
}

// openSpecial handles the files Open… reads that are neither an image nor
// a plain backup: an encrypted backup (asks its password) and a text file
// of otpauth URIs. It reports whether it took the file.
func (u *UI) openSpecial(name string, data []byte) bool {
	switch {
	case vault.BackupEncrypted(data):
		u.askBackupPassword(name, data)
		return true
	case isURIText(data):
		f, err := vault.ParseText(string(data))
		if err != nil {
			u.showError("No account found in "+name, err)
			return true
		}
		scan := &vault.Scan{Keys: f.Keys}
		for _, s := range f.Skipped {
			scan.Notes = append(scan.Notes, "Skipped "+s)
		}
		u.preview("Found in "+name, scan)
		return true
	}
	return false
}

// isURIText reports whether data is text whose first line that is not a
// comment is an otpauth URI.
func isURIText(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		return bytes.HasPrefix(bytes.ToLower(line), []byte("otpauth"))
	}
	return false
}

// askBackupPassword opens an encrypted Aegis or 2FAS backup.
func (u *UI) askBackupPassword(name string, data []byte) {
	pw := u.newPasswordField()
	pw.SetPlaceHolder("The backup's password")
	problem := widget.NewLabel("")
	problem.Importance = widget.DangerImportance
	problem.Wrapping = fyne.TextWrapWord
	var d *dialog.CustomDialog
	open := widget.NewButtonWithIcon("Open", theme.ConfirmIcon(), func() {
		if pw.Text == "" {
			problem.SetText("Type the password the backup was made with.")
			return
		}
		password := []byte(pw.Text)
		var f *vault.Found
		u.backgroundStatus("Decrypting "+name+"…", func(context.Context) (err error) {
			f, err = vault.ReadBackup(data, password)
			return err
		}, func(err error) {
			if errors.Is(err, vault.ErrWrongPassword) {
				problem.SetText("Wrong password for this backup; nothing was added. Try again.")
				return
			}
			d.Hide()
			if err != nil {
				u.showError("No account found in "+name, err)
				return
			}
			scan := &vault.Scan{Keys: f.Keys, Pinned: f.Pinned}
			for _, s := range f.Skipped {
				scan.Notes = append(scan.Notes, "Skipped "+s)
			}
			u.preview("Found in "+name, scan)
		})
	})
	open.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons("Encrypted backup",
		container.NewVScroll(container.NewVBox(wrapped(name+" is an encrypted backup. Type its password:"), pw, problem)), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), open})
	u.show(d, fyne.NewSize(440, 260), open.OnTapped)
	u.win.Canvas().Focus(pw)
}
