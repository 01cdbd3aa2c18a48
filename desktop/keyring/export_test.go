package keyring

import (
	"context"
	"time"
)

// Locked exposes the file lock to the benchmarks, which time it alone.
func (s *Store) Locked(ctx context.Context, fn func() error) error { return s.locked(ctx, true, fn) }

// WithoutFileLock makes the store skip the file lock (the in-process mutex
// stays), for the benchmarks' baseline.
func (s *Store) WithoutFileLock() { s.noFileLock = true }

// LockWait is how long a change of s waits for the lock.
func (s *Store) LockWait() time.Duration { return s.opts.LockWait }
