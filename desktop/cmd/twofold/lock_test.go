package main

// Tests of the real program as many processes at once, against the real
// Secret Service: the file lock, crash safety, repair and duplicate labels.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"twofold.dev/desktop/keyring"
	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// proc is one finished run of the binary.
type proc struct {
	args           []string
	stdout, stderr string
	err            error
}

func (p proc) String() string {
	return fmt.Sprintf("twofold %s: %v\nstdout: %s\nstderr: %s", strings.Join(p.args, " "), p.err, p.stdout, p.stderr)
}

// program runs bin against one config dir.
type program struct {
	t   *testing.T
	bin string
	dir string
	env []string
}

// keyringPatience is how long the processes of these tests wait for the
// keyring: far beyond a user's, so a slow answer is waited for, while a
// hung keyring still ends the test well inside its own timeout.
const keyringPatience = 5 * time.Minute

func newProgram(t *testing.T, bin string) *program {
	t.Helper()
	secretService(t)
	dir := t.TempDir()
	// These tests are about what concurrent processes keep, not how fast
	// the keyring answers: fifty processes on a busy 2-core machine made
	// gnome-keyring take longer than the 10 s a user waits.
	return &program{t: t, bin: bin, dir: dir, env: append(os.Environ(), "TWOFOLD_CONFIG_DIR="+dir, "LANG=en_US.UTF-8", "TWOFOLD_KEYRING_TIMEOUT="+keyringPatience.String())}
}

func (b *program) command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(slices.Clone(b.env), env...)
	return cmd
}

func (b *program) run(args ...string) proc {
	var out, errOut bytes.Buffer
	cmd := b.command(nil, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return proc{args: args, stdout: out.String(), stderr: errOut.String(), err: err}
}

func (b *program) ok(args ...string) proc {
	b.t.Helper()
	p := b.run(args...)
	if p.err != nil {
		b.t.Fatal(p)
	}
	return p
}

// index reads the account list file as the test's own JSON, not through
// the keyring package.
func (b *program) index() map[string]indexAccount {
	b.t.Helper()
	data, err := os.ReadFile(filepath.Join(b.dir, keyring.IndexFile))
	if err != nil {
		b.t.Fatal(err)
	}
	var f struct {
		Version  int            `json:"version"`
		Accounts []indexAccount `json:"accounts"`
	}
	if err := json.Unmarshal(data, &f); err != nil || f.Version != 1 {
		b.t.Fatalf("the index is torn or unreadable (%v):\n%s", err, data)
	}
	m := map[string]indexAccount{}
	for _, a := range f.Accounts {
		if _, dup := m[a.ID]; dup {
			b.t.Fatalf("account %s listed twice", a.ID)
		}
		m[a.ID] = a
	}
	return m
}

type indexAccount struct {
	ID      string `json:"id"`
	Issuer  string `json:"issuer"`
	Account string `json:"account"`
	Counter uint64 `json:"counter"`
	Missing bool   `json:"missing"`
}

// keyringIDs asks secret-tool which items of this config dir the keyring
// holds (other tests share the keyring).
func (b *program) keyringIDs() map[string]bool {
	b.t.Helper()
	out, err := exec.Command("secret-tool", "search", "--all", "--unlock", "service", "twofold", "dir", b.dir).CombinedOutput()
	if err != nil && len(out) != 0 && !strings.Contains(string(out), "No matching") {
		b.t.Fatalf("secret-tool search: %v %s", err, out)
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`attribute\.username = ([0-9a-f]+)`).FindAllStringSubmatch(string(out), -1) {
		ids[m[1]] = true
	}
	return ids
}

// noOrphans checks that the keyring and the index hold the same accounts.
func (b *program) noOrphans() {
	b.t.Helper()
	idx, items := b.index(), b.keyringIDs()
	for id := range items {
		if _, ok := idx[id]; !ok {
			b.t.Errorf("orphan: keyring item %s is not in the index", id)
		}
	}
	for id, a := range idx {
		if !items[id] {
			b.t.Errorf("account %s (%s:%s) has no keyring item", id, a.Issuer, a.Account)
		}
	}
}

// hotpCodes asks oathtool for the codes of counters 0..n-1.
func hotpCodes(t *testing.T, secret string, digits, n int) []string {
	t.Helper()
	out := oathtool(t, "--hotp", "-d", strconv.Itoa(digits), "-c", "0", "-w", strconv.Itoa(n-1), "-b", secret)
	codes := strings.Fields(out)
	if len(codes) != n {
		t.Fatalf("oathtool gave %d codes, want %d", len(codes), n)
	}
	return codes
}

func TestConcurrentProcesses(t *testing.T) {
	bin := buildBinary(t)
	for _, n := range []int{10, 50} {
		t.Run(strconv.Itoa(n), func(t *testing.T) { concurrentRound(t, bin, n) })
	}
}

// concurrentRound runs n adds, n/5 removes and n/2 HOTP codes as
// processes at once, while a store held open as the window holds it
// moves, renames, lists and takes HOTP codes too.
func concurrentRound(t *testing.T, bin string, n int) {
	b := newProgram(t, bin)
	ctx := context.Background()
	hotpSecret := secret(t)
	b.ok("add", "otpauth://hotp/Bank:counter?secret="+hotpSecret+"&digits=8&counter=0")
	removes := n / 5
	for i := range removes {
		b.ok("add", fmt.Sprintf("otpauth://totp/Old:user%d?secret=%s", i, secret(t)))
	}
	seeded := b.index()
	var hotpID string
	var doomed []string
	for id, a := range seeded {
		if a.Issuer == "Bank" {
			hotpID = id
		} else {
			doomed = append(doomed, id)
		}
	}
	window, err := keyring.Open(keyring.Options{Dir: b.dir, Timeout: keyringPatience})
	if err != nil {
		t.Fatal(err)
	}

	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	var kinds []string
	start := func(kind string, args ...string) {
		cmd := b.command(nil, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmds, outs, kinds = append(cmds, cmd), append(outs, &out), append(kinds, kind)
	}
	uris := map[string]string{}
	for i := range n {
		label := fmt.Sprintf("New%d:user%d", i, i)
		uris[label] = secret(t)
		start("add", "add", "otpauth://totp/"+label+"?secret="+uris[label]+"&algorithm=SHA256&digits=8")
	}
	for _, id := range doomed {
		start("remove", "remove", id[:8])
	}
	for range n / 2 {
		start("code", "code", hotpID[:8])
	}
	for range n / 5 {
		start("list", "list")
	}
	rand.Shuffle(len(cmds), func(i, j int) {
		cmds[i], cmds[j] = cmds[j], cmds[i]
		outs[i], outs[j] = outs[j], outs[i]
		kinds[i], kinds[j] = kinds[j], kinds[i]
	})

	// The window: its own store, busy the whole time.
	stop := make(chan struct{})
	var windowCodes []string
	var windowErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			list, err := window.List(ctx)
			if err != nil {
				windowErr = err
				return
			}
			switch i % 4 {
			case 0:
				c, err := window.NextHOTP(ctx, hotpID)
				if err != nil {
					windowErr = err
					return
				}
				windowCodes = append(windowCodes, c)
			case 1:
				if err := window.Move(ctx, hotpID, len(list)/2); err != nil {
					windowErr = err
					return
				}
			case 2:
				if err := window.Rename(ctx, hotpID, "Bank", "counter"+strconv.Itoa(i)); err != nil {
					windowErr = err
					return
				}
			case 3:
				// An add under way is not an account lost.
				orphans, err := window.Orphans(ctx)
				if err != nil && !errors.Is(err, keyring.ErrAdding) {
					windowErr = err
					return
				}
				if len(orphans) > 0 {
					windowErr = fmt.Errorf("Orphans called %d accounts being added lost: %v", len(orphans), orphans)
					return
				}
			}
		}
	})

	began := time.Now()
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var codes []string
	added := map[string]bool{}
	for i, c := range cmds {
		err := c.Wait()
		out := outs[i].String()
		if err != nil {
			t.Errorf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
			continue
		}
		switch kinds[i] {
		case "add":
			label := strings.TrimSpace(strings.TrimPrefix(out, "added "))
			if !strings.HasPrefix(out, "added ") || uris[label] == "" {
				t.Errorf("%s printed %q", strings.Join(c.Args, " "), out)
			}
			added[label] = true
		case "code":
			codes = append(codes, strings.TrimSpace(out))
		case "list":
			if strings.Contains(out, "not in the list") || strings.Contains(out, "could not look") {
				t.Errorf("list during the adds warned:\n%s", out)
			}
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d processes and the window: %v", len(cmds), time.Since(began))
	if windowErr != nil {
		t.Fatalf("the window's store: %v", windowErr)
	}

	idx := b.index()
	labels := map[string]string{}
	for id, a := range idx {
		labels[a.Issuer+":"+a.Account] = id
	}
	for label := range added {
		if labels[label] == "" {
			t.Errorf("%s was reported added but is not in the index", label)
		}
	}
	if len(added) != n {
		t.Errorf("%d of %d adds reported success", len(added), n)
	}
	for _, id := range doomed {
		if _, ok := idx[id]; ok {
			t.Errorf("removed account %s is still listed", id)
		}
	}
	if len(idx) != n+1 {
		t.Errorf("index holds %d accounts, want %d", len(idx), n+1)
	}

	// Every HOTP counter value was used once, by a process or the window.
	all := append(codes, windowCodes...)
	want := hotpCodes(t, hotpSecret, 8, len(all))
	slices.Sort(all)
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("HOTP codes printed (%d by processes, %d by the window) are not the codes of counters 0..%d, each once:\n got %v\nwant %v", len(codes), len(windowCodes), len(want)-1, all, want)
	}
	if got := idx[hotpID].Counter; got != uint64(len(all)) {
		t.Errorf("stored counter %d after %d codes", got, len(all))
	}
	b.noOrphans()

	// The added accounts' codes are right (oathtool), by label and by id.
	for label, id := range labels {
		s, ok := uris[label]
		if !ok || rand.IntN(5) != 0 && n > 10 {
			continue
		}
		// Codes move with the clock: oathtool is asked before and after.
		before := oathtool(t, "--totp=SHA256", "-d", "8", "-b", s)
		got := strings.TrimSpace(b.ok("code", id[:8]).stdout)
		if after := oathtool(t, "--totp=SHA256", "-d", "8", "-b", s); got != before && got != after {
			t.Errorf("code of %s (%s): %s, oathtool %s then %s", label, id[:8], got, before, after)
		}
	}
}

// A process killed -9 inside the lock, at each step of a change, leaves
// the old index or the new one, never a torn one, and no account it added
// is lost: a keyring item without its index entry is found and restored.
func TestCrashInsideTheLock(t *testing.T) {
	bin := buildBinary(t, "crashtest")
	for _, tc := range []struct {
		stage string
		added bool // whether the index holds the new account afterwards
	}{
		{"keyring-set", false},
		{"index-half-written", false},
		{"index-before-rename", false},
		{"index-renamed", true},
	} {
		t.Run(tc.stage, func(t *testing.T) {
			b := newProgram(t, bin)
			keep := secret(t)
			b.ok("add", "otpauth://totp/Keep:me?secret="+keep)
			before, _ := os.ReadFile(filepath.Join(b.dir, keyring.IndexFile))
			s := secret(t)
			cmd := b.command([]string{"TWOFOLD_TEST_CRASH=" + tc.stage}, "add", "otpauth://totp/Crash:me?secret="+s)
			err := cmd.Run()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the add was not killed at %s: %v", tc.stage, err)
			}
			after, _ := os.ReadFile(filepath.Join(b.dir, keyring.IndexFile))
			idx := b.index() // fails on a torn index
			if !tc.added && !bytes.Equal(after, before) {
				t.Fatalf("killed at %s, the index changed:\n%s", tc.stage, after)
			}
			if has := strings.Contains(string(after), "Crash"); has != tc.added {
				t.Fatalf("killed at %s: new account listed = %v, want %v", tc.stage, has, tc.added)
			}
			list := b.ok("list")
			if !tc.added && !strings.Contains(list.stderr, "1 account in the keyring is not in the list (Crash:me): twofold repair adds it back") {
				t.Fatalf("list does not offer the orphan back:\n%s", list)
			}
			r := b.ok("repair")
			if !tc.added && !strings.Contains(r.stdout, "\tCrash:me\n") {
				t.Fatalf("repair did not restore the orphan:\n%s", r)
			}
			if temps, _ := filepath.Glob(filepath.Join(b.dir, ".*")); len(temps) != 0 {
				t.Fatalf("temp files left after the next change: %v", temps)
			}
			if len(b.index()) != 2 || len(idx) != 1+btoi(tc.added) {
				t.Fatalf("accounts after repair: %v", b.index())
			}
			b.noOrphans()
			w1 := oathtool(t, "--totp", "-b", s) // before and after: the clock moves
			got := strings.TrimSpace(b.ok("code", "Crash:me").stdout)
			if w2 := oathtool(t, "--totp", "-b", s); got != w1 && got != w2 {
				t.Fatalf("restored code %s, oathtool %s then %s", got, w1, w2)
			}
		})
	}
	t.Run("kill -9 at random", func(t *testing.T) {
		b := newProgram(t, bin)
		b.ok("add", "otpauth://totp/Keep:me?secret="+secret(t))
		var cmds []*exec.Cmd
		for i := range 12 {
			cmd := b.command(nil, "add", fmt.Sprintf("otpauth://totp/R%d:me?secret=%s", i, secret(t)))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, cmd)
		}
		for _, cmd := range cmds {
			time.Sleep(time.Duration(rand.IntN(80)) * time.Millisecond)
			cmd.Process.Kill()
		}
		for _, cmd := range cmds {
			cmd.Wait()
		}
		before := b.index() // whole, whatever was killed where
		b.ok("repair")
		after := b.index()
		for id := range before {
			if _, ok := after[id]; !ok {
				t.Errorf("repair lost %s", id)
			}
		}
		b.noOrphans()
		t.Logf("%d of 12 killed adds were listed, %d more restored by repair", len(before)-1, len(after)-len(before))
	})
}

// Index deleted, truncated or replaced with garbage: list says so in
// words, repair keeps the damaged file aside and restores every account
// with its parameters; codes agree with oathtool.
func TestRepairRestoresEveryAccount(t *testing.T) {
	bin := buildBinary(t)
	type acct struct{ label, secret, uri string }
	for _, damage := range []string{"deleted", "truncated", "garbage"} {
		t.Run(damage, func(t *testing.T) {
			b := newProgram(t, bin)
			var accts []acct
			for i, p := range []string{"algorithm=SHA1&digits=6&period=30", "algorithm=SHA256&digits=8&period=30", "algorithm=SHA512&digits=7&period=60", "algorithm=SHA1&digits=8&period=15"} {
				a := acct{label: fmt.Sprintf("Site%d:joe", i), secret: secret(t)}
				a.uri = "otpauth://totp/" + a.label + "?secret=" + a.secret + "&" + p
				b.ok("add", a.uri)
				accts = append(accts, a)
			}
			hs := secret(t)
			b.ok("add", "otpauth://hotp/Door:joe?secret="+hs+"&counter=7&digits=8")
			b.ok("code", "Door") // counter 7 used; 8 is next
			path := filepath.Join(b.dir, keyring.IndexFile)
			data, _ := os.ReadFile(path)
			switch damage {
			case "deleted":
				os.Remove(path)
			case "truncated":
				os.WriteFile(path, data[:len(data)*2/3], 0o600)
			case "garbage":
				os.WriteFile(path, []byte("\x00\x13garbage, not a list\xff"), 0o600)
			}
			list := b.run("list")
			if damage == "deleted" {
				if list.err != nil || list.stdout != "" || !strings.Contains(list.stderr, "5 accounts in the keyring are not in the list: twofold repair adds them back") {
					t.Fatalf("list with no index:\n%s", list)
				}
			} else if list.err == nil || !strings.Contains(list.stderr, "is damaged") && !strings.Contains(list.stderr, "twofold repair") || strings.Contains(list.stderr, "JSON") {
				t.Fatalf("list of a %s index:\n%s", damage, list)
			}
			if damage != "deleted" {
				p := b.run("code", "Site0")
				if p.err == nil || !strings.Contains(p.stderr, "twofold repair") {
					t.Fatalf("code on a damaged index:\n%s", p)
				}
			}
			r := b.ok("repair")
			for _, a := range append(accts, acct{label: "Door:joe"}) {
				if !strings.Contains(r.stdout, "\t"+a.label+"\n") {
					t.Errorf("repair did not restore %s:\n%s", a.label, r)
				}
			}
			if !strings.Contains(r.stdout, "0 accounts kept, 5 restored from the keyring") {
				t.Errorf("repair summary:\n%s", r)
			}
			if damage != "deleted" {
				aside, _ := filepath.Glob(path + ".damaged-*")
				if len(aside) != 1 || !strings.Contains(r.stdout, "kept the damaged account list aside as "+aside[0]) {
					t.Fatalf("damaged index not kept aside: %v\n%s", aside, r)
				}
				if kept, _ := os.ReadFile(aside[0]); bytes.Equal(kept, data) || len(kept) == 0 {
					t.Fatalf("the file kept aside is not the damaged one")
				}
			}
			for i, a := range accts {
				alg := []string{"SHA1", "SHA256", "SHA512", "SHA1"}[i]
				digits := []string{"6", "8", "7", "8"}[i]
				period := []string{"30s", "30s", "60s", "15s"}[i]
				want := func() string {
					return oathtool(t, "--totp="+alg, "-d", digits, "-s", period, "-b", a.secret)
				}
				w1 := want()
				got := strings.TrimSpace(b.ok("code", a.label).stdout)
				if got != w1 && got != want() {
					t.Errorf("restored %s: code %s, oathtool %s", a.label, got, w1)
				}
			}
			if got, w := strings.TrimSpace(b.ok("code", "Door").stdout), oathtool(t, "--hotp", "-d", "8", "-c", "8", "-b", hs); got != w {
				t.Errorf("restored HOTP: code %s, oathtool at counter 8 %s", got, w)
			}
			b.noOrphans()
		})
	}
}

// Two accounts with one label: refused without a choice, kept apart by
// ids with --keep-both, replaced with --replace; renaming is the store's
// (window's) business and refused onto a taken label there.
func TestDuplicateLabels(t *testing.T) {
	c := newCLI(t)
	old, reset := secret(t), secret(t)
	c.ok("add", "otpauth://totp/Twofold%20Portal:joe?secret="+old)
	c.fails("not added: \"Twofold Portal:joe\" is already the label of account", "add", "otpauth://totp/Twofold%20Portal:joe?secret="+reset)
	c.fails("--replace to replace that account, or --keep-both to keep both", "add", "otpauth://totp/twofold%20portal:JOE?secret="+reset)
	c.fails("give --replace or --keep-both, not both", "add", "--replace", "--keep-both", "otpauth://totp/X:y?secret="+reset)
	c.ok("add", "--keep-both", "otpauth://totp/Twofold%20Portal:joe?secret="+reset)
	list := c.ok("list")
	ids := regexp.MustCompile(`(?m)^([0-9a-f]{8})\tTwofold Portal:joe\t`).FindAllStringSubmatch(list, -1)
	if len(ids) != 2 || ids[0][1] == ids[1][1] {
		t.Fatalf("list does not tell the two apart by id:\n%s", list)
	}
	c.fails("matches 2 accounts ("+ids[0][1]+" Twofold Portal:joe, "+ids[1][1]+" Twofold Portal:joe): give the id", "code", "Twofold Portal:joe")
	for i, s := range []string{old, reset} {
		for _, id := range []string{ids[i][1], ids[i][1][:5]} {
			want := oathtool(t, "--totp", "-b", "-N", "@1700000015", s)
			if got := c.ok("code", id); got != want+"\n" {
				t.Errorf("code %s: %q, oathtool %q", id, got, want)
			}
		}
	}
	if out := c.ok("remove", ids[0][1]); out != "removed Twofold Portal:joe\n" {
		t.Fatalf("remove by id printed %q", out)
	}
	third := secret(t)
	c.ok("add", "--replace", "otpauth://totp/Twofold%20Portal:joe?secret="+third)
	list = c.ok("list")
	if strings.Count(list, "Twofold Portal:joe") != 1 || strings.Contains(list, ids[1][1]) {
		t.Fatalf("after --replace:\n%s", list)
	}
	if got, want := c.ok("code", "Twofold Portal:joe"), oathtool(t, "--totp", "-b", "-N", "@1700000015", third); got != want+"\n" {
		t.Fatalf("code after --replace %q, oathtool %q", got, want)
	}
	if _, ok := lookupItem(c.dir, ids[1][1]); ok {
		t.Fatal("the replaced account's keyring item is still there")
	}
	// The same label and secret again is still "already added".
	c.fails("already added", "add", "--keep-both", "otpauth://totp/Twofold%20Portal:joe?secret="+third)
	// Renaming onto a taken label is refused by the store the window uses.
	st, err := keyring.Open(keyring.Options{Dir: c.dir})
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.Add(context.Background(), mustKey(t, "otpauth://totp/Mail:joe?secret="+secret(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Rename(context.Background(), a.ID, "Twofold Portal", "joe"); !errors.Is(err, vault.ErrLabelTaken) {
		t.Fatalf("rename onto a taken label: %v", err)
	}
}

// lookupItem finds an item of the config dir by id prefix with secret-tool.
func lookupItem(dir, prefix string) (string, bool) {
	out, _ := exec.Command("secret-tool", "search", "--all", "service", "twofold", "dir", dir).CombinedOutput()
	for _, m := range regexp.MustCompile(`attribute\.username = ([0-9a-f]+)`).FindAllStringSubmatch(string(out), -1) {
		if strings.HasPrefix(m[1], prefix) {
			return m[1], true
		}
	}
	return "", false
}

func mustKey(t *testing.T, uri string) *totp.Key {
	t.Helper()
	k, err := totp.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
