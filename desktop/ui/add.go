package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/screen"
	"twofold.dev/desktop/vault"
	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

// showAdd offers every way of adding an account.
func (u *UI) showAdd() {
	var d *dialog.CustomDialog
	choice := func(label string, icon fyne.Resource, fn func()) fyne.CanvasObject {
		b := widget.NewButtonWithIcon(label, icon, func() { d.Hide(); fn() })
		b.Alignment = widget.ButtonAlignLeading
		return b
	}
	paste := "Paste link or image"
	if u.opts.ClipboardImage == nil {
		paste = "Paste link" // no image reader here (Windows, macOS)
	}
	content := container.NewVBox(
		wrapped(Keys("Where is the key? (Ctrl+Shift+S scans the screen, Ctrl+O opens a file, Ctrl+V pastes.)")),
		choice("Scan QR from screen", theme.ViewFullScreenIcon(), u.scanScreen),
		choice("Open image or backup…", theme.FileImageIcon(), u.openImage),
		choice(paste, theme.ContentPasteIcon(), u.paste),
		choice("Enter key manually", theme.DocumentCreateIcon(), u.showManual),
		choice("Google Authenticator export", theme.UploadIcon(), u.showExportHelp),
	)
	d = dialog.NewCustom("Add account", "Cancel", container.NewVScroll(content), u.win)
	u.show(d, fyne.NewSize(440, 440), nil)
}

// scanScreen captures every display and adds the keys in its QR codes.
func (u *UI) scanScreen() {
	if u.opts.Capture == nil {
		u.showError("Cannot scan the screen", fmt.Errorf("%w: not supported here; use Open image…, Paste or Enter key manually", screen.ErrUnavailable))
		return
	}
	var scan *vault.Scan
	u.backgroundStatus("Scanning the screen for QR codes…", func(context.Context) error {
		imgs, err := u.opts.Capture()
		if err != nil {
			return err
		}
		scan, err = vault.ParseImages(imgs)
		return err
	}, func(err error) {
		if errors.Is(err, qr.ErrNotFound) {
			err = fmt.Errorf("%w; make sure the whole QR code is visible and not covered by this window, or use Open image…, Paste or Enter key manually", err)
		}
		if err != nil {
			u.showError("No account found on the screen", err)
			return
		}
		u.preview("Found on the screen", scan)
	})
}

// openImage lets the user pick a PNG, JPEG or GIF file.
func (u *UI) openImage() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			u.showError("Cannot open the image", err)
			return
		}
		if r == nil {
			return // cancelled
		}
		defer r.Close()
		data, err := io.ReadAll(io.LimitReader(r, 64<<20))
		if err != nil {
			u.showError("Cannot open the image", err)
			return
		}
		u.addFromFile(r.URI().Name(), data)
	}, u.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".png", ".jpg", ".jpeg", ".gif", ".PNG", ".JPG", ".JPEG", ".GIF", ".json", ".2fas", ".txt"}))
	u.show(d, fyne.NewSize(800, 600), nil) // fits the window, Escape closes it
}

// addFromFile previews the keys of an opened file: a plain Aegis or 2FAS
// backup, or else an image's QR codes.
func (u *UI) addFromFile(name string, data []byte) {
	if u.openSpecial(name, data) { // encrypted backups, .txt files of URIs (export.go)
		return
	}
	if !vault.IsBackup(data) {
		if looksLikeJSON(name, data) {
			u.showMessage("No account found in "+name, name+" is not a backup Twofold reads. "+
				"Open an Aegis or 2FAS backup (plain or encrypted), a text file of otpauth:// links, or a QR code image.")
			return
		}
		u.addFromImage(name, data)
		return
	}
	var scan *vault.Scan
	u.backgroundStatus("Reading "+name+"…", func(context.Context) error {
		f, err := vault.ParseBackup(data)
		if err != nil {
			return err
		}
		scan = &vault.Scan{Keys: f.Keys, Pinned: f.Pinned}
		for _, s := range f.Skipped {
			scan.Notes = append(scan.Notes, "Skipped "+s)
		}
		return nil
	}, func(err error) {
		if err != nil {
			u.showError("No account found in "+name, err)
			return
		}
		u.preview("Found in "+name, scan)
	})
}

// addFromImage reads the keys in an image's QR codes and previews them.
func (u *UI) addFromImage(name string, data []byte) {
	var scan *vault.Scan
	u.backgroundStatus("Reading "+name+"…", func(context.Context) (err error) {
		scan, err = vault.ParseImageBytes(data)
		return err
	}, func(err error) {
		if err != nil {
			u.showError("No account found in "+name, err)
			return
		}
		u.preview("Found in "+name, scan)
	})
}

// paste reads an otpauth or otpauth-migration link from the clipboard,
// or else an image; with neither it opens a box to paste the link into.
func (u *UI) paste() {
	text := strings.TrimSpace(u.app.Clipboard().Content())
	if text != "" {
		u.addFromText(text)
		return
	}
	if u.opts.ClipboardImage == nil {
		u.showPasteBox()
		return
	}
	// Reading the image runs a helper program: not on the UI thread.
	var scan *vault.Scan
	var noImage bool
	u.backgroundStatus("Reading the clipboard…", func(context.Context) error {
		data, err := u.opts.ClipboardImage()
		if err != nil || len(data) == 0 {
			noImage = true
			return nil
		}
		scan, err = vault.ParseImageBytes(data)
		return err
	}, func(err error) {
		switch {
		case noImage:
			u.showPasteBox()
		case err != nil:
			u.showError("No account found in the clipboard image", err)
		default:
			u.preview("Found in the clipboard image", scan)
		}
	})
}

// showPasteBox is a box to paste or type a link into.
func (u *UI) showPasteBox() {
	entry := u.newMultiLineField()
	entry.SetPlaceHolder("otpauth://totp/… or otpauth-migration://offline?data=…")
	var d *dialog.CustomDialog
	entry.onLink = func(link string) { d.Hide(); u.addFromText(link) }
	read := widget.NewButtonWithIcon("Read", theme.ConfirmIcon(), func() { d.Hide(); u.addFromText(entry.Text) })
	read.Importance = widget.HighImportance
	buttons := []fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() })}
	if u.opts.ClipboardImage != nil {
		buttons = append(buttons, widget.NewButtonWithIcon("Paste image", theme.FileImageIcon(), func() {
			data, err := u.opts.ClipboardImage()
			if err != nil {
				u.showError("No image on the clipboard", err)
				return
			}
			d.Hide()
			u.addFromImage("the clipboard image", data)
		}))
	}
	d = dialog.NewCustomWithoutButtons("Paste a key link", container.NewVScroll(entry), u.win)
	d.SetButtons(append(buttons, read))
	u.show(d, fyne.NewSize(460, 260), nil)
	u.win.Canvas().Focus(entry)
}

// addFromText previews the keys in a pasted link.
func (u *UI) addFromText(text string) { u.addFromLink("the pasted text", text) }

// addFromLink previews the keys in a link from source.
func (u *UI) addFromLink(source, text string) {
	f, err := vault.ParseText(text)
	if err != nil {
		u.showError("Not an account", err)
		return
	}
	scan := &vault.Scan{Keys: f.Keys}
	for _, s := range f.Skipped { // lines of several URIs that hold no key
		scan.Notes = append(scan.Notes, "Skipped "+s)
	}
	if f.Batches > 1 {
		scan.Notes = append(scan.Notes, fmt.Sprintf("Google Authenticator export: batch %d of %d (add the other batches too)", f.Batch, f.Batches))
	}
	u.preview("Found in "+source, scan)
}

// showExportHelp explains importing Google Authenticator's export.
func (u *UI) showExportHelp() {
	var d *dialog.CustomDialog
	text := widget.NewLabel("In Google Authenticator on the phone: menu → Transfer accounts → Export accounts. " +
		"It shows one or more QR codes; add each of them here, every account of every code is imported:\n" +
		"• show the phone's screen on this computer or take a photo of it and open the image,\n" +
		"• or paste the otpauth-migration://offline?data=… link if you have it as text.")
	text.Wrapping = fyne.TextWrapWord
	act := func(label string, fn func()) fyne.CanvasObject {
		return widget.NewButton(label, func() { d.Hide(); fn() })
	}
	d = dialog.NewCustomWithoutButtons("From Google Authenticator", container.NewVScroll(container.NewVBox(text,
		act("Scan screen", u.scanScreen), act("Open image…", u.openImage), act("Paste link", u.showPasteBox))), u.win)
	d.SetButtons([]fyne.CanvasObject{act("Cancel", func() {})})
	u.show(d, fyne.NewSize(520, 460), nil)
}

// describe is a key's kind and parameters in a few words.
func describe(k *totp.Key) string {
	if k.Type == totp.HOTP {
		return fmt.Sprintf("HOTP · %s · %d digits · counter %d", k.Algorithm, k.Digits, k.Counter)
	}
	return fmt.Sprintf("TOTP · %s · %d digits · every %d s", k.Algorithm, k.Digits, k.Period)
}

// preview shows what will be added, with editable labels, before saving.
func (u *UI) preview(title string, scan *vault.Scan) {
	box := container.NewVBox()
	type item struct {
		key             *totp.Key
		issuer, account *field
		include         *widget.Check
	}
	var items []item
	for _, k := range scan.Keys {
		it := item{key: k, issuer: u.newField(), account: u.newField(), include: widget.NewCheck(describe(k), nil)}
		it.issuer.SetPlaceHolder("Issuer")
		it.issuer.SetText(k.Issuer)
		it.account.SetPlaceHolder("Account")
		it.account.SetText(k.Account)
		it.include.SetChecked(true)
		items = append(items, it)
		box.Add(widget.NewForm(
			widget.NewFormItem("Issuer", it.issuer),
			widget.NewFormItem("Account", it.account),
		))
		box.Add(it.include)
		box.Add(widget.NewSeparator())
	}
	for _, n := range scan.Notes {
		box.Add(wrapped(userWords(n)))
	}
	for _, k := range scan.Keys {
		if w := vault.SecretWarning(k); w != "" {
			l := wrapped("Warning: " + w)
			l.Importance = widget.WarningImportance
			box.Add(l)
		}
	}
	for _, err := range scan.Refused {
		l := wrapped("Skipped: " + userWords(err.Error()))
		l.Importance = widget.WarningImportance
		box.Add(l)
	}
	problem := widget.NewLabel("")
	problem.Importance = widget.DangerImportance
	problem.Wrapping = fyne.TextWrapWord
	problem.Hide()
	box.Add(problem)

	var d *dialog.CustomDialog
	add := widget.NewButtonWithIcon("Add", theme.ConfirmIcon(), func() {
		var keys []*totp.Key
		pinned := map[*totp.Key]bool{}
		for _, it := range items {
			if !it.include.Checked {
				continue
			}
			k := *it.key
			k.Issuer, k.Account = strings.TrimSpace(it.issuer.Text), strings.TrimSpace(it.account.Text)
			if k.Account == "" {
				problem.SetText("Account name is empty: every account needs a name.")
				problem.Show()
				return
			}
			keys = append(keys, &k)
			pinned[&k] = scan.Pinned[it.key]
		}
		if len(keys) == 0 {
			d.Hide()
			return
		}
		d.Hide()
		u.addKeys(keys, pinned)
	})
	add.Importance = widget.HighImportance
	// The title stays short (a dialog's title does not truncate); where
	// the keys came from heads the content.
	heading, found := "Add accounts", fmt.Sprintf("%s: %d accounts", title, len(scan.Keys))
	if len(scan.Keys) == 1 {
		heading, found = "Add account", title+": 1 account"
	}
	src := wrapped(found)
	src.TextStyle = fyne.TextStyle{Bold: true}
	box.Objects = append([]fyne.CanvasObject{src}, box.Objects...)
	d = dialog.NewCustomWithoutButtons(heading, container.NewVScroll(box), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), add})
	u.show(d, fyne.NewSize(480, 560), add.OnTapped)
}

// addKeys saves keys one by one and reports what was not added; keys
// whose label another account has are asked about. The keys in pinned
// (a backup's favourites) are pinned once added.
func (u *UI) addKeys(keys []*totp.Key, pinned map[*totp.Key]bool) {
	u.addKeysWith(keys, pinned, vault.RefuseTaken)
}

func (u *UI) addKeysWith(keys []*totp.Key, pinned map[*totp.Key]bool, mode vault.OnLabelTaken) {
	var added, skipped []string
	var taken []*totp.Key
	var takenBy []string
	var failed []error
	u.background("saving", func(ctx context.Context) error {
		for _, k := range keys {
			a, err := u.store.AddWith(ctx, k, mode)
			var lt *vault.LabelTakenError
			switch {
			case err == nil:
				added = append(added, k.Label())
				if pinned[k] {
					if err := u.store.Pin(ctx, a.ID, true); err != nil {
						failed = append(failed, fmt.Errorf("added %s, but could not pin it: %w", k.Label(), err))
					}
				}
			case errors.Is(err, vault.ErrDuplicate):
				skipped = append(skipped, k.Label())
			case errors.As(err, &lt):
				taken = append(taken, k)
				takenBy = append(takenBy, k.Label())
			default:
				failed = append(failed, err)
				if errors.Is(err, vault.ErrKeyringUnavailable) || errors.Is(err, vault.ErrKeyringLocked) || errors.Is(err, vault.ErrKeyringTimeout) {
					return nil // the rest would fail the same way
				}
			}
		}
		return nil
	}, func(error) {
		u.reload()
		var msg []string
		if len(skipped) > 0 {
			msg = append(msg, "Already in the list, not added again: "+strings.Join(skipped, ", ")+".")
		}
		for _, err := range failed {
			msg = append(msg, vault.Message(err))
		}
		switch {
		case len(taken) > 0:
			u.askTaken(taken, pinned, takenBy, msg)
		case len(msg) == 0:
			u.setStatus("Added " + strings.Join(added, ", ") + ".")
		case len(added) == 0:
			u.showMessage("Nothing added", strings.Join(msg, "\n"))
		default:
			u.showMessage("Added "+strconv.Itoa(len(added))+" of "+strconv.Itoa(len(keys)), strings.Join(msg, "\n"))
		}
	})
}

// askTaken asks what to do with keys whose labels other accounts have
// (with other secrets): replace those accounts, keep both, or neither.
func (u *UI) askTaken(keys []*totp.Key, pinned map[*totp.Key]bool, labels, notes []string) {
	text := strings.Join(labels, ", ") + ": already in the list with another secret (was two-factor set up again on the site?). Replace the old account, or keep both?"
	if len(notes) > 0 {
		text += "\n" + strings.Join(notes, "\n")
	}
	var d *dialog.CustomDialog
	replace := widget.NewButton("Replace", func() { d.Hide(); u.addKeysWith(keys, pinned, vault.ReplaceTaken) })
	replace.Importance = widget.DangerImportance
	both := widget.NewButton("Keep both", func() { d.Hide(); u.addKeysWith(keys, pinned, vault.KeepBoth) })
	d = dialog.NewCustomWithoutButtons("Label already in use", wrapped(text), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), both, replace})
	u.show(d, fyne.NewSize(480, 240), nil) // held while the window is locked: it names accounts
}

// showManual is the form for typing a key.
func (u *UI) showManual() {
	issuer, account, secret := u.newField(), u.newField(), u.newField()
	issuer.SetPlaceHolder("e.g. Twofold")
	account.SetPlaceHolder("e.g. alice@example.com")
	secret.SetPlaceHolder("base32, e.g. JBSW Y3DP EHPK 3PXP")
	kind := widget.NewSelect([]string{"TOTP (time-based)", "HOTP (counter-based)"}, nil)
	kind.SetSelectedIndex(0)
	alg := widget.NewSelect([]string{"SHA1", "SHA256", "SHA512"}, nil)
	alg.SetSelected("SHA1")
	digits := widget.NewSelect([]string{"6", "7", "8"}, nil)
	digits.SetSelected("6")
	period, counter := u.newField(), u.newField()
	period.SetText("30")
	counter.SetText("0")
	advanced := widget.NewAccordion(widget.NewAccordionItem("Advanced", widget.NewForm(
		widget.NewFormItem("Type", kind),
		widget.NewFormItem("Algorithm", alg),
		widget.NewFormItem("Digits", digits),
		widget.NewFormItem("Period (s)", period),
		widget.NewFormItem("Counter", counter),
	)))
	problem := widget.NewLabel("")
	problem.Importance = widget.DangerImportance
	problem.Wrapping = fyne.TextWrapWord
	problem.Hide()
	fail := func(err error) {
		problem.SetText(userWords(vault.Message(err)))
		problem.Show()
	}

	var d *dialog.CustomDialog
	add := widget.NewButtonWithIcon("Add", theme.ConfirmIcon(), func() {
		k, err := manualKey(issuer.Text, account.Text, secret.Text, kind.SelectedIndex() == 1, alg.Selected, digits.Selected, period.Text, counter.Text)
		if err != nil {
			fail(err)
			return
		}
		u.background("saving", func(ctx context.Context) error {
			_, err := u.store.Add(ctx, k)
			return err
		}, func(err error) {
			if err != nil {
				fail(err)
				return
			}
			d.Hide()
			u.setStatus("Added " + k.Label() + ".")
			u.reload()
		})
	})
	add.Importance = widget.HighImportance
	form := widget.NewForm(
		widget.NewFormItem("Issuer", issuer),
		widget.NewFormItem("Account", account),
		widget.NewFormItem("Secret key", secret),
	)
	d = dialog.NewCustomWithoutButtons("Enter key manually",
		container.NewVScroll(container.NewVBox(form, advanced, problem)), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), add})
	u.show(d, fyne.NewSize(460, 420), add.OnTapped)
	u.win.Canvas().Focus(issuer)
}

// manualKey builds a key from the manual form, naming the field at fault.
func manualKey(issuer, account, secret string, hotp bool, alg, digits, period, counter string) (*totp.Key, error) {
	k := &totp.Key{Type: totp.TOTP, Issuer: strings.TrimSpace(issuer), Account: strings.TrimSpace(account)}
	if k.Account == "" {
		return nil, &totp.FieldError{Field: "account", Reason: "missing (e.g. your e-mail address or user name)"}
	}
	var err error
	if k.Secret, err = totp.DecodeSecret(secret); err != nil {
		return nil, &totp.FieldError{Field: "secret key", Reason: err.Error()}
	}
	if k.Algorithm, err = totp.ParseAlgorithm(alg); err != nil {
		return nil, &totp.FieldError{Field: "algorithm", Reason: err.Error()}
	}
	if k.Digits, err = strconv.Atoi(digits); err != nil {
		return nil, &totp.FieldError{Field: "digits", Reason: "must be 6, 7 or 8"}
	}
	if hotp {
		k.Type = totp.HOTP
		if k.Counter, err = strconv.ParseUint(strings.TrimSpace(counter), 10, 64); err != nil {
			return nil, &totp.FieldError{Field: "counter", Reason: fmt.Sprintf("must be a whole number ≥ 0, got %q", counter)}
		}
	} else if k.Period, err = strconv.Atoi(strings.TrimSpace(period)); err != nil || k.Period <= 0 {
		return nil, &totp.FieldError{Field: "period", Reason: fmt.Sprintf("must be a whole number of seconds > 0, got %q", period)}
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// looksLikeJSON reports whether an opened file is JSON (by name or by its
// first character), so that a JSON file that is no backup is named as
// such rather than as a picture that could not be read.
func looksLikeJSON(name string, data []byte) bool {
	lower := strings.ToLower(name)
	if strings.HasSuffix(lower, ".json") || strings.HasSuffix(lower, ".2fas") {
		return true
	}
	t := strings.TrimSpace(string(data[:min(len(data), 64)]))
	return strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")
}

func wrapped(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}
