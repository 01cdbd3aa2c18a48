package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

// gaQRSize is the side of a Google Authenticator transfer QR code in
// pixels: ten accounts make a dense code, and a phone camera needs room.
const gaQRSize = 800

// export writes every account out: an encrypted Aegis vault, Google
// Authenticator transfer QR codes, or plain otpauth URIs.
func (c *cli) export(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	encrypted := fs.String("encrypted", "", "")
	ga := fs.String("google-authenticator", "", "")
	uris := fs.String("uris", "", "")
	plainOK := fs.Bool("i-understand-plain", false, "")
	if err := fs.Parse(args); err != nil {
		return optionError("export", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export: unexpected %q (give --encrypted FILE, --google-authenticator DIR or --uris FILE)", fs.Arg(0))
	}
	n := 0
	for _, s := range []string{*encrypted, *ga, *uris} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("export: give one of --encrypted FILE, --google-authenticator DIR or --uris FILE")
	}
	if *uris != "" && !*plainOK {
		return errors.New("export --uris writes every secret in plain text, readable by anything that reads the file: add --i-understand-plain to do it, or use --encrypted")
	}
	ex, err := c.exportKeys(ctx)
	if err != nil {
		return err
	}
	switch {
	case *encrypted != "":
		return c.exportEncrypted(*encrypted, ex)
	case *ga != "":
		return c.exportGA(*ga, ex.Keys)
	}
	return c.exportURIs(*uris, ex.Keys)
}

// exportKeys reads every key and names those it cannot export.
func (c *cli) exportKeys(ctx context.Context) (*vault.Export, error) {
	st, err := c.store()
	if err != nil {
		return nil, err
	}
	ex, err := vault.ExportKeys(ctx, st)
	if err != nil {
		return nil, errors.New(vault.Message(err))
	}
	for _, m := range ex.Missing {
		fmt.Fprintf(c.stderr, "twofold: not exported: %s: %v\n", m, vault.ErrSecretMissing)
	}
	if len(ex.Keys) == 0 {
		return nil, errors.New("export: there are no accounts to export")
	}
	return ex, nil
}

func (c *cli) exportEncrypted(name string, ex *vault.Export) error {
	keys := ex.Keys
	if _, err := os.Lstat(name); err == nil {
		return fmt.Errorf("export: %s already exists: choose another name or remove it first", name)
	}
	// The folder is checked before the password is asked, not after.
	if info, err := os.Stat(filepath.Dir(name)); err != nil || !info.IsDir() {
		if err == nil {
			err = &fs.PathError{Op: "stat", Path: filepath.Dir(name), Err: syscall.ENOTDIR}
		}
		return fmt.Errorf("export: %w", vault.FileError("write", name, err))
	}
	pw, err := c.passwords().create("the backup " + filepath.Base(name))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	data, err := vault.EncryptAegis(keys, ex.Pinned, pw, rand.Reader)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := vault.WriteNewFile(name, data); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(c.stdout, "exported %s to %s (an encrypted Aegis vault)\n", vault.Accounts(len(keys)), name)
	fmt.Fprintf(c.stderr, "twofold: restore it with `twofold add --backup %s`, or in Aegis: Settings → Import & Export → Import → Aegis\n", name)
	return nil
}

func (c *cli) exportURIs(name string, keys []*totp.Key) error {
	fmt.Fprintf(c.stderr, "twofold: warning: %s holds every secret in plain text; anyone who reads it can make your codes. Delete it when you are done.\n", name)
	if err := vault.WriteNewFile(name, vault.URIList(keys)); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(c.stdout, "exported %s to %s (otpauth URIs, one per line)\n", vault.Accounts(len(keys)), name)
	return nil
}

func (c *cli) exportGA(dir string, keys []*totp.Key) error {
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	ga, err := vault.GoogleAuthenticator(keys, int32(binary.BigEndian.Uint32(id[:])&0x7fffffff))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("export: %w", vault.FileError("create the folder", dir, err))
	}
	var files []string
	for i, uri := range ga.URIs {
		png, err := qr.PNG(uri, gaQRSize)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		name := filepath.Join(dir, fmt.Sprintf("google-authenticator-%d-of-%d.png", i+1, len(ga.URIs)))
		if err := vault.WriteNewFile(name, png); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		files = append(files, name)
	}
	for _, r := range ga.Refused {
		fmt.Fprintf(c.stderr, "twofold: not exported (Google Authenticator cannot hold it): %s\n", r)
	}
	for _, w := range ga.Warnings {
		fmt.Fprintf(c.stderr, "twofold: warning: %s\n", w)
	}
	fmt.Fprintf(c.stderr, "twofold: these QR codes hold your secrets: delete them once scanned. In Google Authenticator: Transfer accounts → Import accounts, then scan each code in turn.\n")
	codes := "QR codes"
	if len(files) == 1 {
		codes = "QR code"
	}
	fmt.Fprintf(c.stdout, "exported %s in %d %s: %s\n", vault.Accounts(len(ga.Keys)), len(files), codes, strings.Join(files, " "))
	return nil
}

// readBackup reads a backup file for add --backup: an Aegis or 2FAS
// backup, asking for its password if it is encrypted, or a text file of
// otpauth URIs.
func (c *cli) readBackup(name string, data []byte) (*vault.Found, error) {
	if !vault.IsBackup(data) {
		return vault.ParseText(string(data))
	}
	if !vault.BackupEncrypted(data) {
		return vault.ParseBackup(data)
	}
	pw, err := c.passwords().existing(filepath.Base(name))
	if err != nil {
		return nil, err
	}
	return vault.ReadBackup(data, pw)
}

// skippedLines names the lines of a multi-line argument that held no key.
func (c *cli) skippedLines(f *vault.Found) {
	for _, s := range f.Skipped {
		fmt.Fprintf(c.stderr, "twofold: skipped %s\n", s)
	}
}

// warnShortSecrets names the keys whose secret is under 80 bits; they are
// added anyway.
func (c *cli) warnShortSecrets(keys []*totp.Key) {
	for _, k := range keys {
		if w := vault.SecretWarning(k); w != "" {
			fmt.Fprintf(c.stderr, "twofold: warning: %s\n", w)
		}
	}
}
