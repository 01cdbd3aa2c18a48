package portal

import (
	"context"
	"runtime"
)

// hasher bounds the argon2id computations running at once to one per core,
// so that a flood of password checks queues here instead of taking every
// core from code checks and pages. main gives the runtime as many Ps again
// for the other requests (see cmd/twofold-portal).
type hasher struct {
	slots chan struct{}
}

func newHasher(slots int) *hasher {
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	return &hasher{slots: make(chan struct{}, slots)}
}

// run waits for a free slot and runs f.
func (h *hasher) run(ctx context.Context, f func()) error {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.slots }()
	f()
	return nil
}
