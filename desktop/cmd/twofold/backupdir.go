package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"twofold.dev/desktop/keyring"
	"twofold.dev/desktop/vault"
)

// autoBackup is the automatic backup component on the OS keyring.
func (c *cli) autoBackup() *vault.AutoBackup {
	return &vault.AutoBackup{
		ConfigDir: c.cfg.dir,
		Passwords: &keyring.BackupPassword{Timeout: c.cfg.timeout},
		Rand:      rand.Reader,
		Now:       time.Now, // names the files; codes use c.now
	}
}

// backupDir shows, sets or turns off the automatic backup folder.
func (c *cli) backupDir(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backup-dir", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	off := fs.Bool("off", false, "")
	keep := fs.Int("keep", vault.DefaultKeep, "")
	rest, err := parseAnywhere(fs, args) // flags may come after the folder too
	if err != nil {
		return optionError("backup-dir", err)
	}
	var dir string
	if len(rest) > 1 {
		return fmt.Errorf("backup-dir: give one folder, not %q too", rest[1])
	}
	if len(rest) == 1 {
		dir = rest[0]
	}
	b := c.autoBackup()
	switch {
	case *off && dir != "":
		return errors.New("backup-dir: give a folder or --off, not both")
	case *off:
		if err := b.Disable(ctx); err != nil {
			return errors.New(vault.Message(err))
		}
		fmt.Fprintln(c.stdout, "automatic backups are off (the backups already written stay where they are)")
		return nil
	case dir == "":
		s, err := b.Settings()
		if err != nil {
			return err
		}
		if s.Dir == "" {
			fmt.Fprintln(c.stdout, "automatic backups are off (turn them on with: twofold backup-dir DIR)")
			return nil
		}
		names, _ := vault.Backups(s.Dir)
		fmt.Fprintf(c.stdout, "automatic backups go to %s, the last %d kept (%d there now)\n", s.Dir, s.Keep, len(names))
		return nil
	}
	if *keep < 1 {
		return fmt.Errorf("backup-dir: --keep must be at least 1, got %d", *keep)
	}
	pw, err := c.passwords().create("automatic backups")
	if err != nil {
		return fmt.Errorf("backup-dir: %w", err)
	}
	if err := b.Enable(ctx, vault.BackupSettings{Dir: dir, Keep: *keep}, pw); err != nil {
		return errors.New(vault.Message(err))
	}
	st, err := c.store()
	if err != nil {
		return err
	}
	path, err := b.Write(ctx, st)
	if err != nil {
		return errors.New(vault.Message(err))
	}
	abs, _ := filepath.Abs(dir)
	fmt.Fprintf(c.stdout, "automatic backups go to %s, the last %d kept; first backup: %s\n", abs, *keep, filepath.Base(path))
	fmt.Fprintln(c.stderr, "twofold: the backup password is kept in the keyring (service "+keyring.BackupService+"); note it somewhere safe too: without it the backups cannot be opened")
	return nil
}

// indexStamp identifies the account index as it is now, so that a command
// that changed it (add, remove, an HOTP code, ...) can be told apart from
// one that only read it.
type indexStamp struct {
	info os.FileInfo
}

func (c *cli) indexStamp() indexStamp {
	info, err := os.Stat(filepath.Join(c.cfg.dir, keyring.IndexFile))
	if err != nil {
		return indexStamp{}
	}
	return indexStamp{info: info}
}

func (s indexStamp) same(o indexStamp) bool {
	if s.info == nil || o.info == nil {
		return s.info == nil && o.info == nil
	}
	return os.SameFile(s.info, o.info) && s.info.ModTime().Equal(o.info.ModTime()) && s.info.Size() == o.info.Size()
}

// backupIfChanged writes an automatic backup when backups are on and the
// command changed the accounts. A failed backup is a warning: the change
// itself was made.
func (c *cli) backupIfChanged(ctx context.Context, before indexStamp) {
	if before.same(c.indexStamp()) {
		return
	}
	b := c.autoBackup()
	if s, err := b.Settings(); err != nil || s.Dir == "" {
		if err != nil {
			fmt.Fprintf(c.stderr, "twofold: warning: %v\n", err)
		}
		return
	}
	st, err := c.store()
	if err == nil {
		_, err = b.Write(ctx, st)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "twofold: warning: the change was saved, but the automatic backup failed: %s\n", vault.Message(err))
	}
}
