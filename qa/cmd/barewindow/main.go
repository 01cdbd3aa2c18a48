// Command barewindow opens a Fyne window holding one label and nothing
// else: the baseline `make bench` compares the authenticator's memory and
// start time with (issue 7). With -tick the label shows a countdown that
// changes once a second, and the window is named barewindow-tick: the
// least any window repainting once a second costs (issue 12). It exits on
// SIGTERM or when the window closes.
package main

import (
	"flag"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

func main() {
	tick := flag.Bool("tick", false, "change the label once a second, on the second")
	flag.Parse()
	a := app.NewWithID("dev.twofold.barewindow")
	title := "barewindow"
	if *tick {
		title += "-tick"
	}
	w := a.NewWindow(title)
	label := widget.NewLabel("Hello")
	w.SetContent(label)
	w.Resize(fyne.NewSize(420, 640))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		fyne.Do(a.Quit)
	}()
	if *tick {
		go func() {
			for {
				now := time.Now()
				time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now))
				left := strconv.Itoa(30-time.Now().Second()%30) + " s"
				fyne.Do(func() { label.SetText(left) })
			}
		}()
	}
	w.ShowAndRun()
}
