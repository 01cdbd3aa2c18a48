package portal

import "syscall"

// hashNice is the nice value of hashing threads (0 is the default, 19 the
// lowest priority): CFS then gives a runnable normal thread about ten
// times their share of a core.
const hashNice = 10

// lowerThreadPriority sets the nice value of the calling thread (on
// Linux, setpriority with a thread id affects that thread only). It is
// best effort: if the system refuses, the hash runs at normal priority,
// as it would on other systems.
func lowerThreadPriority() {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), hashNice)
}
