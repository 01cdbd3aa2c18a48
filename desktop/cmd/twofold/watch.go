package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"twofold.dev/desktop/keyring"
)

// settle is how long the watcher waits after a change of the account
// index before it reports it: one report for a burst of writes.
const settle = 100 * time.Millisecond

// watchIndex calls changed when the account index in dir is written,
// replaced or removed by another process (e.g. `twofold add` while the
// window is open), until ctx ends. The OS reports the change (inotify,
// ReadDirectoryChangesW, kqueue): nothing runs while nothing changes.
func watchIndex(ctx context.Context, dir string, changed func(), stderr io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("watching the account index: %w", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching the account index: %w", err)
	}
	// The directory, not the file: the index is replaced by a rename,
	// which would end a watch on the old file.
	if err := w.Add(dir); err != nil {
		w.Close()
		return fmt.Errorf("watching the account index: %w", err)
	}
	go func() {
		defer w.Close()
		var timer *time.Timer
		defer func() {
			if timer != nil {
				timer.Stop()
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Base(ev.Name) != keyring.IndexFile || ev.Op == fsnotify.Chmod {
					continue
				}
				if timer == nil {
					timer = time.AfterFunc(settle, changed)
				} else {
					timer.Reset(settle)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				fmt.Fprintln(stderr, "twofold: watching the account index:", err)
			}
		}
	}()
	return nil
}
