module twofold.dev/desktop

go 1.26.0

require twofold.dev/shared v0.0.0

require (
	fyne.io/fyne/v2 v2.7.1 // indirect
	github.com/danieljoos/wincred v1.2.3 // indirect
	github.com/gen2brain/shm v0.1.0 // indirect
	github.com/godbus/dbus/v5 v5.2.2 // indirect
	github.com/jezek/xgb v1.1.1 // indirect
	github.com/kbinani/screenshot v0.0.0-20250624051815-089614a94018 // indirect
	github.com/lxn/win v0.0.0-20210218163916-a377121e959e // indirect
	github.com/zalando/go-keyring v0.2.8 // indirect
	golang.org/x/sys v0.30.0 // indirect
)

replace twofold.dev/shared => ../shared
