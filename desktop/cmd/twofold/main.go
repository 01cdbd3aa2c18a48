// Command twofold is the Twofold desktop authenticator: with no arguments
// it opens the window; with a command it works from the command line on the
// same accounts (see usage).
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

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
func window(ctx context.Context, cfg *config, link string) error {
	err := instance.Send(ctx, cfg.dir, link)
	if err == nil {
		return nil
	}
	if !errors.Is(err, instance.ErrNotRunning) {
		return err
	}
	// The window waits as long as the user needs to unlock the keyring;
	// each call is bounded by the UI's own timeout.
	store, err := keyring.Open(keyring.Options{Dir: cfg.dir})
	if err != nil {
		return err
	}
	a := app.NewWithID(release.ID)
	u := ui.New(a, store, time.Now, ui.Options{
		Capture:        screen.Capture,
		ClipboardImage: screen.ClipboardImageReader(),
		FirstCode:      traceFirstCode(cfg.traceFirstCode, os.Stderr),
		Backups:        &vault.AutoBackup{ConfigDir: cfg.dir, Passwords: &keyring.BackupPassword{}, Rand: rand.Reader, Now: time.Now},
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
	u.Window().ShowAndRun()
	return nil
}

// frame is the driver's repaint interval: Fyne's GLFW loop checks for
// changed canvases and paints them 60 times a second.
const frame = time.Second / 60

// traceFirstCode returns the UI's FirstCode hook for the start-up trace
// (TWOFOLD_TRACE_FIRST_CODE=path, read by `make bench`), or nil without a
// path. It writes the wall-clock time, in Unix nanoseconds, at which the UI
// thread runs a function posted one frame after the first code was put in
// a row. The driver runs posted functions and repaints on the same thread,
// so the frame that shows the code has been painted by then: the time is at
// most about one frame (17 ms) late, never early. Nothing else is written,
// never a code.
func traceFirstCode(path string, stderr io.Writer) func() {
	if path == "" {
		return nil
	}
	return func() {
		go func() {
			time.Sleep(frame + time.Millisecond)
			fyne.Do(func() {
				stamp := strconv.FormatInt(time.Now().UnixNano(), 10) + "\n"
				go func() {
					if err := os.WriteFile(path, []byte(stamp), 0o600); err != nil {
						fmt.Fprintln(stderr, "twofold: first-code trace:", err)
					}
				}()
			})
		}()
	}
}
