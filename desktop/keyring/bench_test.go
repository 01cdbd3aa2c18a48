package keyring_test

import (
	"context"
	"os"
	"testing"
	"time"

	"twofold.dev/desktop/keyring"
	"twofold.dev/shared/totp"
)

// The cost of the file lock, beside what it guards: run with
//
//	scripts/with-keyring.sh go test -run '^$' -bench . ./desktop/keyring
//
// Lock is one uncontended lock and unlock; IndexWrite is the atomic index
// write every change makes anyway; Add and NextHOTP are whole operations
// (lock, fresh read, keyring, write), on the in-memory keyring and on the
// real Secret Service; Code is a TOTP code, which takes no lock.

func benchStore(b *testing.B, backend keyring.Backend, accounts int) (*keyring.Store, []string) {
	b.Helper()
	s, err := keyring.Open(keyring.Options{Dir: b.TempDir(), Backend: backend, Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	// Leave the keyring as found: a keyring holding more items answers
	// more slowly, which would bias the runs that come later.
	b.Cleanup(func() {
		list, _ := s.List(context.Background())
		for _, a := range list {
			s.Delete(context.Background(), a.ID)
		}
	})
	var ids []string
	for i := range accounts {
		a, err := s.Add(context.Background(), testKey(i))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	return s, ids
}

func BenchmarkLock(b *testing.B) {
	s, _ := benchStore(b, newMemBackend(), 20)
	ctx := context.Background()
	for b.Loop() {
		if err := s.Locked(ctx, func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIndexWrite(b *testing.B) {
	s, ids := benchStore(b, newMemBackend(), 20)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		// Move is a lock plus a fresh read and an index write, nothing else.
		i++
		if err := s.Move(ctx, ids[0], i%20); err != nil {
			b.Fatal(err)
		}
	}
}

func benchOps(b *testing.B, backend func() keyring.Backend) {
	for _, lock := range []bool{false, true} {
		name := "Locked"
		if !lock {
			name = "NoFileLock"
		}
		b.Run(name, func(b *testing.B) { benchOps1(b, backend, lock) })
	}
}

func benchOps1(b *testing.B, backend func() keyring.Backend, lock bool) {
	ctx := context.Background()
	open := func(b *testing.B) (*keyring.Store, []string) {
		s, ids := benchStore(b, backend(), 20)
		if !lock {
			s.WithoutFileLock()
		}
		return s, ids
	}
	b.Run("Add", func(b *testing.B) {
		s, _ := open(b)
		n := 1000
		for b.Loop() {
			n++
			a, err := s.Add(ctx, testKey(n))
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := s.Delete(ctx, a.ID); err != nil { // keep the list at 20
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("NextHOTP", func(b *testing.B) {
		s, _ := open(b)
		h, err := s.Add(ctx, &totp.Key{Type: totp.HOTP, Issuer: "B", Account: "h", Secret: []byte("12345678901234567890"), Digits: 6})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.NextHOTP(ctx, h.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Code", func(b *testing.B) {
		s, ids := open(b)
		now := time.Unix(1_700_000_000, 0)
		for b.Loop() {
			if _, err := s.Code(ctx, ids[3], now); err != nil {
				b.Fatal(err)
			}
		}
	})
	if !lock {
		return // without the file lock, stores sharing a directory lose adds
	}
	// Four stores (four processes' worth of lock handles) adding at once.
	b.Run("AddContended4", func(b *testing.B) {
		dir := b.TempDir()
		be := backend()
		var stores []*keyring.Store
		for range 4 {
			s, _ := keyring.Open(keyring.Options{Dir: dir, Backend: be})
			stores = append(stores, s)
		}
		next := make(chan int, 1)
		next <- 0
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			n := <-next
			next <- n + 1
			s := stores[n%4]
			i := 0
			for pb.Next() {
				i++
				if _, err := s.Add(ctx, testKey(n*1_000_000+i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkMemory(b *testing.B) {
	benchOps(b, func() keyring.Backend { return newMemBackend() })
}

// BenchmarkSecretService needs the real keyring (scripts/with-keyring.sh).
func BenchmarkSecretService(b *testing.B) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		b.Fatal("no session bus: run through scripts/with-keyring.sh")
	}
	benchOps(b, func() keyring.Backend { return nil })
}
