// Command twofold is the Twofold desktop authenticator: with no arguments
// it opens the window; with a command it works from the command line on the
// same accounts (see usage).
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"github.com/kbinani/screenshot"

	"twofold.dev/desktop/instance"
	"twofold.dev/desktop/keyring"
	"twofold.dev/desktop/release"
	"twofold.dev/desktop/screen"
	"twofold.dev/desktop/ui"
	"twofold.dev/desktop/vault"
)

func main() {
	attachConsole()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "twofold:", err)
		os.Exit(1)
	}
}

// window opens the authenticator window and returns when it is closed;
// link, if set, is shown in the add preview. When a window is already
// running for this config directory, it hands link to that window (which
// comes to the front) and returns at once.
func window(ctx context.Context, cfg *config, link string, getenv func(string) string) error {
	err := instance.Send(ctx, cfg.dir, link)
	if err == nil {
		return nil
	}
	if !errors.Is(err, instance.ErrNotRunning) {
		return err
	}
	if err := checkDisplay(getenv); err != nil {
		return err
	}
	// The window waits as long as the user needs to unlock the keyring;
	// each call is bounded by the UI's own timeout.
	store, err := keyring.Open(keyring.Options{Dir: cfg.dir})
	if err != nil {
		return err
	}
	// Every widget call is on the UI thread (fyne.Do): saying so turns off
	// Fyne's check of the calling goroutine, a runtime.Stack per refresh,
	// which was a fifth of the window's CPU while searching and scrolling
	// a thousand accounts. FyneApp.toml says the same for `fyne package`.
	app.SetMetadata(fyne.AppMetadata{ID: release.ID, Name: release.Name, Version: release.Version, Build: release.Build,
		Migrations: map[string]bool{"fyneDo": true}})
	a := app.NewWithID(release.ID)
	a.SetIcon(fyne.NewStaticResource("icon.png", release.Icon)) // window, tray and lock screen
	// The list and the first codes are read, and the fonts loaded, while
	// the window is made and shown, before it is filled (ui.StartPreload,
	// ui.NewWindow); not shown when it is to stay in the tray (whether
	// there is one is known once it is filled).
	pre := ui.StartPreload(a, store, time.Now)
	w := ui.NewWindow(a)
	shown := link != "" || !ui.StartInTraySet(a)
	if shown {
		fitScreen(w, os.Getenv("FYNE_SCALE"))
		w.Show()
	}
	u := ui.New(a, store, time.Now, ui.Options{
		Window:         w,
		Preload:        pre,
		Capture:        screen.Capture,
		ClipboardImage: screen.ClipboardImageReader(),
		Version:        version(),
		DataDir:        cfg.dir,
		Backups:        &vault.AutoBackup{ConfigDir: cfg.dir, Passwords: &keyring.BackupPassword{}, Rand: rand.Reader, Now: time.Now},
		Lock:           &keyring.LockPassword{},
		TrayHost:       trayHost,
	})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Without the channel (an unusual file system) the window still opens;
	// a later launch then opens a second one.
	if l, err := instance.Listen(cfg.dir, func(msg string) { fyne.Do(func() { u.OpenLink(msg) }) }); err != nil {
		fmt.Fprintln(os.Stderr, "twofold:", err)
	} else {
		defer l.Close()
	}
	if err := watchIndex(ctx, cfg.dir, func() { fyne.Do(u.Reload) }, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "twofold:", err)
	}
	go u.Run(ctx)
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	if link != "" {
		u.OpenLink(link)
	}
	if link == "" && u.StartsHidden() {
		u.StartTray()
		a.Run() // the tray's Show Twofold, or a second start, shows the window
		return nil
	}
	if !shown {
		fitScreen(w, os.Getenv("FYNE_SCALE"))
		w.Show()
	}
	u.StartTray()
	a.Run()
	return nil
}

// fitScreen keeps the first window inside the primary display: at
// FYNE_SCALE=2 the 460×600 window would be 1200 pixels tall on a
// 1000-pixel screen. Without a display it leaves the size alone.
func fitScreen(w fyne.Window, scaleEnv string) {
	if screenshot.NumActiveDisplays() == 0 {
		return
	}
	scale, err := strconv.ParseFloat(scaleEnv, 32)
	if err != nil || scale <= 0 {
		scale = 1
	}
	b := screenshot.GetDisplayBounds(0)
	size := w.Canvas().Size()
	if size.Width == 0 {
		size = w.Content().MinSize()
	}
	maxW, maxH := float32(float64(b.Dx())/scale*0.9), float32(float64(b.Dy())/scale*0.85)
	if size.Width > maxW || size.Height > maxH {
		w.Resize(fyne.NewSize(min(size.Width, maxW), min(size.Height, maxH)))
	}
}

// version is the release (FyneApp.toml) and the commit the binary was
// built from, for the About box.
func version() string {
	v := release.Version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
