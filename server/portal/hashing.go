package portal

import (
	"context"
	"runtime"
)

// hasher bounds the argon2id computations running at once and runs each
// on an OS thread of low scheduling priority: under a flood of password
// checks, the rest of the portal (code checks, pages) and a database on
// the same cores get the CPU first, while an otherwise idle machine still
// gives the hashes all of it.
type hasher struct {
	slots chan struct{}
}

func newHasher(slots int) *hasher {
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	return &hasher{slots: make(chan struct{}, slots)}
}

// run waits for a free slot and runs f on a low-priority thread.
func (h *hasher) run(ctx context.Context, f func()) error {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.slots }()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Never unlocked: the goroutine ends locked, so the runtime ends
		// its thread instead of reusing it at the lowered priority.
		runtime.LockOSThread()
		lowerThreadPriority()
		f()
	}()
	<-done
	return nil
}
