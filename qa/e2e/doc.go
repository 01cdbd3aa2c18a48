// Package e2e holds the QA end-to-end test of the enrollment flow: the real
// portal, Debian's chromium in a real window, and the real desktop app
// reading the QR code off the same X display. It builds only with the e2e
// tag; `make e2e` runs it inside a private Secret Service.
package e2e
