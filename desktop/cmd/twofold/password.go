package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"twofold.dev/desktop/vault"
)

// passwords asks for passwords: on a terminal without echo, otherwise as
// one line of stdin (for scripts: `printf '%s\n' "$PW" | twofold ...`).
// That one line answers every question of the run.
type passwords struct {
	in     io.Reader
	prompt io.Writer // the terminal's questions go to stderr
	line   []byte
	read   bool
}

func (c *cli) passwords() *passwords {
	if c.pw == nil {
		c.pw = &passwords{in: c.stdin, prompt: c.stderr}
	}
	return c.pw
}

// terminal is stdin's file descriptor when it is a terminal.
func (p *passwords) terminal() (int, bool) {
	f, ok := p.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

func (p *passwords) ask(question string) ([]byte, error) {
	if fd, ok := p.terminal(); ok {
		fmt.Fprint(p.prompt, question)
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(p.prompt)
		if err != nil {
			return nil, fmt.Errorf("reading the password: %w", err)
		}
		return pw, nil
	}
	if !p.read {
		p.read = true
		if p.in == nil {
			return nil, errors.New("no password given: stdin is empty")
		}
		line, err := bufio.NewReader(p.in).ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading the password from stdin: %w", err)
		}
		p.line = bytes.TrimRight(line, "\r\n")
	}
	return p.line, nil
}

// existing asks for the password of something already encrypted.
func (p *passwords) existing(what string) ([]byte, error) {
	pw, err := p.ask("Password for " + what + ": ")
	if err != nil {
		return nil, err
	}
	if len(pw) == 0 {
		return nil, fmt.Errorf("%w (type it, or give it as one line of stdin)", vault.ErrPasswordNeeded)
	}
	return pw, nil
}

// create asks for a new password, twice on a terminal; an empty one is
// refused.
func (p *passwords) create(what string) ([]byte, error) {
	pw, err := p.ask("New password for " + what + ": ")
	if err != nil {
		return nil, err
	}
	if len(pw) == 0 {
		return nil, fmt.Errorf("%s: %w; choose one (on stdin when it is not a terminal)", what, vault.ErrEmptyPassword)
	}
	if _, ok := p.terminal(); ok {
		again, err := p.ask("The same password again: ")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("the two passwords differ; nothing was written")
		}
	}
	return pw, nil
}
