package keyring_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"twofold.dev/desktop/keyring"
	"twofold.dev/desktop/vault"
)

// lockItem is what secret-tool shows of the lock's keyring item, narrowed
// by both its attributes.
func lockItem(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("secret-tool", "search", "--all", "service", keyring.LockService, "username", "password").CombinedOutput()
	if err != nil {
		t.Fatalf("secret-tool search: %v %s", err, out)
	}
	return string(out)
}

func TestLockPasswordKeepsOnlyAHash(t *testing.T) {
	secretService(t)
	ctx := context.Background()
	p := &keyring.LockPassword{Timeout: 10 * time.Second}
	t.Cleanup(func() { p.Delete(ctx) })
	if _, err := p.Get(ctx); !errors.Is(err, vault.ErrNoLockPassword) {
		t.Fatalf("Get before Set: %v, want ErrNoLockPassword", err)
	}

	password := "lock-" + freshSecret(t)
	hash, err := vault.HashLockPassword([]byte(password), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Set(ctx, hash); err != nil {
		t.Fatal(err)
	}
	item := lockItem(t)
	if !strings.Contains(item, "secret = "+hash) || !strings.Contains(item, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("keyring item does not hold the argon2id hash:\n%s", item)
	}
	for _, spelling := range []string{password, strings.ToLower(password), hex.EncodeToString([]byte(password)),
		base64.StdEncoding.EncodeToString([]byte(password)), base64.RawStdEncoding.EncodeToString([]byte(password))} {
		if strings.Contains(item, spelling) {
			t.Fatalf("keyring item holds the password (%q):\n%s", spelling, item)
		}
	}
	// A password given where a hash belongs is refused, not stored.
	if err := p.Set(ctx, password); !errors.Is(err, vault.ErrLockHashDamaged) {
		t.Fatalf("Set(password) = %v, want refused", err)
	}
	if strings.Contains(lockItem(t), password) {
		t.Fatal("the refused password reached the keyring")
	}

	got, err := p.Get(ctx)
	if err != nil || got != hash {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if err := vault.CheckLockPassword(got, []byte(password)); err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if err := vault.CheckLockPassword(got, []byte(password+"x")); !errors.Is(err, vault.ErrWrongLockPassword) {
		t.Fatalf("wrong password: %v", err)
	}

	if err := p.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(ctx); !errors.Is(err, vault.ErrNoLockPassword) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := p.Delete(ctx); !errors.Is(err, vault.ErrNoLockPassword) {
		t.Fatalf("Delete twice: %v", err)
	}
}

// TestTamperedLockItemIsRefused writes items by hand, as someone with the
// user's keyring could: each is refused as damaged, at once, with no
// argon2 run of minutes or gigabytes.
func TestTamperedLockItemIsRefused(t *testing.T) {
	secretService(t)
	ctx := context.Background()
	p := &keyring.LockPassword{Timeout: 10 * time.Second}
	t.Cleanup(func() { p.Delete(ctx) })
	good, err := vault.HashLockPassword([]byte("hunter22"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$")
	for _, tampered := range []string{
		"hunter22",
		"$argon2id$v=19$m=4194304,t=2,p=1$" + f[4] + "$" + f[5], // 4 GiB
		"$argon2id$v=19$m=19456,t=4294967295,p=1$" + f[4] + "$" + f[5],
		"$argon2id$v=19$m=19456,t=2,p=255$" + f[4] + "$" + f[5],
		"$argon2i$v=19$m=19456,t=2,p=1$" + f[4] + "$" + f[5],
		"$argon2id$v=19$m=19456,t=2,p=1$" + f[4] + "$",
		good[:len(good)-1],
	} {
		if out, err := exec.Command("sh", "-c", `printf %s "$1" | secret-tool store --label=tampered service "$2" username password`,
			"sh", tampered, keyring.LockService).CombinedOutput(); err != nil {
			t.Fatalf("secret-tool store: %v %s", err, out)
		}
		got, err := p.Get(ctx)
		if err != nil || got != tampered {
			t.Fatalf("Get = %q, %v; want the tampered item", got, err)
		}
		if err := vault.CheckLockPassword(got, []byte("hunter22")); !errors.Is(err, vault.ErrLockHashDamaged) {
			t.Errorf("%q: %v, want damaged", tampered, err)
		}
	}
	// The untouched hash, stored the same way, still verifies.
	if err := gokeyring.Set(keyring.LockService, "password", good); err != nil {
		t.Fatal(err)
	}
	got, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := vault.CheckLockPassword(got, []byte("hunter22")); err != nil {
		t.Fatalf("good hash: %v", err)
	}
}
