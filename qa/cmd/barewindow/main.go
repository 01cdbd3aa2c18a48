// Command barewindow opens a Fyne window holding one label and nothing
// else: the baseline `make bench` compares the authenticator's memory and
// start time with (issue 7). It exits on SIGTERM or when the window closes.
package main

import (
	"os"
	"os/signal"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

func main() {
	a := app.NewWithID("dev.twofold.barewindow")
	w := a.NewWindow("barewindow")
	w.SetContent(widget.NewLabel("Hello"))
	w.Resize(fyne.NewSize(420, 640))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		fyne.Do(a.Quit)
	}()
	w.ShowAndRun()
}
