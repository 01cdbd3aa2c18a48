package keyring

import "context"

// Locked exposes the file lock to the benchmarks, which time it alone.
func (s *Store) Locked(ctx context.Context, fn func() error) error { return s.locked(ctx, true, fn) }

// WithoutFileLock makes the store skip the file lock (the in-process mutex
// stays), for the benchmarks' baseline.
func (s *Store) WithoutFileLock() { s.noFileLock = true }
