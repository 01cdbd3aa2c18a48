package smoke

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"

	"twofold.dev/qa/xvfb"
)

// The tray of the real binary, seen by a tray host as a panel sees it:
// this test is the host (a StatusNotifierWatcher on the private session
// bus). The binary registers its icon with it, its menu is read over
// D-Bus (com.canonical.dbusmenu), and clicking an account there puts that
// account's code on the X clipboard. Without a host, it starts no tray.

// watcher is a minimal org.kde.StatusNotifierWatcher: it records who
// registers an item.
type watcher struct {
	mu    sync.Mutex
	items []string // bus names of the registered items' owners
}

func (w *watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.items = append(w.items, string(sender))
	return nil
}

func (w *watcher) registered() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.items...)
}

// menuItem is com.canonical.dbusmenu's layout: (id, properties, children).
type menuItem struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []dbus.Variant
}

func TestTrayOnARealHost(t *testing.T) {
	secretService(t)
	need(t, "xclip", "oathtool")
	bin := buildBinary(t)
	x := xvfb.StartT(t, 1024, 768)
	s := &session{t: t, x: x, bin: bin, dir: t.TempDir(), env: append(x.Env(), "TWOFOLD_CONFIG_DIR="+t.TempDir())}

	const secret = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLA"
	for _, args := range [][]string{
		{"add", "otpauth://totp/Tray%20Bank:anna?secret=" + secret + "&issuer=Tray%20Bank"},
		{"add", "otpauth://totp/Other:bo?secret=KRSXG5CTMVRXEZLB"},
		{"pin", "Tray Bank"},
	} {
		if out, err := s.output(bin, args...); err != nil {
			t.Fatalf("twofold %v: %v %s", args, err, out)
		}
	}

	// No host: the window comes up without a tray. fyne starts its tray
	// before the window's first frame, and the tray's first act is to own
	// the bus name org.kde.StatusNotifierItem-PID-1; a painted window
	// whose process owns no such name started no tray.
	s.start(bin)
	win, err := x.Window(within(t, 90*time.Second), "^Twofold$")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the window paints", func() error {
		img, err := x.Capture(context.Background(), win)
		if err != nil {
			return err
		}
		if n := xvfb.Colours(img, 8); n < 3 {
			return fmt.Errorf("%d colours", n)
		}
		return nil
	})
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pids := running(t, s, bin)
	if len(pids) != 1 {
		t.Fatalf("%d windows running: %v", len(pids), pids)
	}
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierItem-"+pids[0]+"-1").Store(&has); err != nil || has {
		t.Fatalf("a window started without a tray host started a tray (%v, %v)", has, err)
	}
	stopAll(t, s, bin) // the next start must be a first instance

	host := &watcher{}
	if err := conn.Export(host, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("becoming the tray host: %v %v", reply, err)
	}

	// With the host: the window registers its tray, whose menu lists the
	// pinned account, then Show Twofold and Quit.
	s.start(bin)
	if _, err := x.Window(within(t, 90*time.Second), "^Twofold$"); err != nil {
		t.Fatal(err)
	}
	var owner string
	eventually(t, 60*time.Second, "the window registers its tray icon", func() error {
		if got := host.registered(); len(got) > 0 {
			owner = got[0]
			return nil
		}
		return fmt.Errorf("nothing registered")
	})
	menu := conn.Object(owner, "/StatusNotifierMenu")
	var labels []string
	var bankID int32 = -1
	eventually(t, 30*time.Second, "the tray menu is filled", func() error {
		var revision uint32
		var root menuItem
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := menu.CallWithContext(ctx, "com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{}).Store(&revision, &root); err != nil {
			return err
		}
		labels = labels[:0]
		for _, c := range root.Children {
			var it menuItem
			if err := dbus.Store([]any{c.Value()}, &it); err != nil {
				return fmt.Errorf("menu item %v: %v", c, err)
			}
			if typ, _ := it.Props["type"].Value().(string); typ == "separator" {
				labels = append(labels, "-")
				continue
			}
			label, _ := it.Props["label"].Value().(string)
			labels = append(labels, label)
			if label == "Tray Bank:anna" {
				bankID = it.ID
			}
		}
		if strings.Join(labels, "|") != "Tray Bank:anna|-|Show Twofold|Quit" {
			return fmt.Errorf("menu %q", labels)
		}
		return nil
	})
	if err := os.WriteFile(filepath.Join(s.dir, "tray-menu.txt"), []byte(strings.Join(labels, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Clicking the account copies its current code (oathtool's).
	before := time.Now().Unix()
	if err := menu.Call("com.canonical.dbusmenu.Event", 0, bankID, "clicked", dbus.MakeVariant(""), uint32(0)).Err; err != nil {
		t.Fatal(err)
	}
	var got string
	eventually(t, 30*time.Second, "the code is on the clipboard", func() error {
		out, err := s.output("xclip", "-selection", "clipboard", "-o")
		if err != nil {
			return err
		}
		got = strings.TrimSpace(out)
		if len(got) != 6 {
			return fmt.Errorf("clipboard holds %d characters", len(got))
		}
		return nil
	})
	after := time.Now().Unix()
	want := []string{
		oathtool(t, "--totp", "-b", "-N", "@"+strconv.FormatInt(before, 10), secret),
		oathtool(t, "--totp", "-b", "-N", "@"+strconv.FormatInt(after, 10), secret),
	}
	if got != want[0] && got != want[1] {
		t.Fatalf("the tray copied a code that is not oathtool's %v", want)
	}
}

// running is the pids of this session's windows (the binary with no
// arguments).
func running(t *testing.T, s *session, bin string) []string {
	t.Helper()
	out, _ := s.output("pgrep", "-f", "^"+bin+"$")
	return strings.Fields(out)
}

// stopAll ends every window of this session's binary and waits until no
// window is left, so the next start is a first instance.
func stopAll(t *testing.T, s *session, bin string) {
	t.Helper()
	for _, pid := range running(t, s, bin) {
		if n, err := strconv.Atoi(pid); err == nil {
			if p, err := os.FindProcess(n); err == nil {
				p.Signal(os.Interrupt)
			}
		}
	}
	eventually(t, 30*time.Second, "the first window ends", func() error {
		if pids := running(t, s, bin); len(pids) > 0 {
			return fmt.Errorf("still running: %v", pids)
		}
		return nil
	})
}
