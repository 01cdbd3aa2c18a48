// Command xvfb-run runs a command with DISPLAY set to a private Xvfb
// (package xvfb: a free display, ready for clients) and stops the server
// when the command ends. scripts/with-xvfb.sh calls it.
//
//	xvfb-run [-size 1600x1000] COMMAND [ARG...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"twofold.dev/qa/xvfb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "xvfb-run:", err)
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("xvfb-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var w, h int
	size := fs.String("size", "1600x1000", "screen size, WIDTHxHEIGHT")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil || w <= 0 || h <= 0 {
		return 2, fmt.Errorf("-size %q: want WIDTHxHEIGHT, such as 1600x1000", *size)
	}
	if fs.NArg() == 0 {
		return 2, errors.New("usage: xvfb-run [-size WxH] COMMAND [ARG...]")
	}
	x, err := xvfb.Start(ctx, w, h)
	if err != nil {
		return 1, err
	}
	defer x.Close()
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Env = x.Env()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}
