package main

import (
	"os"
	"syscall"
)

// attachParentProcess is ATTACH_PARENT_PROCESS, (DWORD)-1.
const attachParentProcess = ^uint32(0)

// attachConsole lets the command line print to the terminal it was started
// from. The .exe is a GUI program (-H windowsgui) so that the window opens
// without a console beside it; Windows therefore gives it no console of
// its own, and output would go nowhere. Handles the parent redirected (to a
// file or a pipe) are kept as they are: only missing ones are reopened on
// the parent's console. Started from the Start menu there is no parent
// console and nothing changes.
func attachConsole() {
	missing := func(h int) bool {
		fd, err := syscall.GetStdHandle(h)
		if err != nil || fd == syscall.InvalidHandle || fd == 0 {
			return true
		}
		_, err = syscall.GetFileType(fd)
		return err != nil
	}
	out := missing(syscall.STD_OUTPUT_HANDLE)
	errs := missing(syscall.STD_ERROR_HANDLE)
	in := missing(syscall.STD_INPUT_HANDLE)
	if !out && !errs && !in {
		return
	}
	attach := syscall.NewLazyDLL("kernel32.dll").NewProc("AttachConsole")
	// ERROR_ACCESS_DENIED: this process has a console already (Wine gives
	// a GUI program its parent's console, but no handles to it).
	if r, _, err := attach.Call(uintptr(attachParentProcess)); r == 0 && err != syscall.ERROR_ACCESS_DENIED {
		return // not started from a console
	}
	if out || errs {
		if f, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0); err == nil {
			if out {
				os.Stdout = f
			}
			if errs {
				os.Stderr = f
			}
		}
	}
	if in {
		if f, err := os.OpenFile("CONIN$", os.O_RDONLY, 0); err == nil {
			os.Stdin = f
		}
	}
}
