//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/futex"
)

// Shared memory with a lock, as a pthread program would do it: a futex
// mutex (Ulrich Drepper's "Futexes Are Tricky", mutex 3: 0 unlocked, 1
// locked, 2 locked with waiters; the non-private futex operations, as a
// PTHREAD_PROCESS_SHARED mutex uses) guards a one-message slot and its
// "full" flag in a MAP_SHARED mapping. The receiver takes the lock, looks
// at the flag, and releases it, until a message is there; the sender waits
// the same way for the slot to be empty. Like a default pthread mutex it
// sleeps in the kernel when it finds the lock taken, and never spins for
// it; the waits for the flag spin (PAUSE) between lock attempts. One
// process, two locked OS threads (pinned with -cpus). The futex calls are
// internal/futex's, which are the non-private ones.

// mutexSlot is one direction's slot in the mapping: the lock word, the
// flag and length words, and the payload from offset 64.
type mutexSlot struct {
	lock, full, len *uint32
	data            []byte
}

func newMutexSlot(mem []byte) *mutexSlot {
	return &mutexSlot{
		lock: (*uint32)(unsafe.Pointer(&mem[0])),
		full: (*uint32)(unsafe.Pointer(&mem[4])),
		len:  (*uint32)(unsafe.Pointer(&mem[8])),
		data: mem[64:],
	}
}

func (s *mutexSlot) acquire() error {
	c := uint32(0)
	if atomic.CompareAndSwapUint32(s.lock, 0, 1) {
		return nil
	}
	c = atomic.LoadUint32(s.lock)
	if c != 2 {
		c = atomic.SwapUint32(s.lock, 2)
	}
	for c != 0 {
		// The word was no longer 2 (EAGAIN) or a signal came (EINTR):
		// swap again.
		if err := futex.Wait(s.lock, 2, nil); err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return err
		}
		c = atomic.SwapUint32(s.lock, 2)
	}
	return nil
}

func (s *mutexSlot) release() error {
	if atomic.AddUint32(s.lock, ^uint32(0)) != 0 {
		atomic.StoreUint32(s.lock, 0)
		if _, err := futex.Wake(s.lock, 1); err != nil {
			return err
		}
	}
	return nil
}

// mutexEnd sends through one slot and receives from the other.
type mutexEnd struct {
	out, in *mutexSlot
	closed  *atomic.Bool
}

// put waits, under the lock, for s's flag to be want, and then runs f and
// flips the flag.
func (e *mutexEnd) put(s *mutexSlot, want uint32, f func()) error {
	sp := lockedSpinner()
	for {
		if err := s.acquire(); err != nil {
			return err
		}
		// The data and length are plain memory under the lock; the
		// flag is read and written atomically only so that a reader
		// of the mapping outside the lock (none here) would be safe.
		ok := atomic.LoadUint32(s.full) == want
		if ok {
			f()
			atomic.StoreUint32(s.full, 1-want)
		}
		if err := s.release(); err != nil {
			return err
		}
		if ok {
			return nil
		}
		if e.closed.Load() {
			return os.ErrClosed
		}
		sp.Spin()
	}
}

func (e *mutexEnd) send(msg []byte) error {
	return e.put(e.out, 0, func() { *e.out.len = uint32(copy(e.out.data, msg)) })
}

func (e *mutexEnd) recv(buf []byte) (int, error) {
	var n int
	err := e.put(e.in, 1, func() { n = copy(buf, e.in.data[:*e.in.len]) })
	return n, err
}

// openMutex is the shared memory with a lock.
func openMutex(_ *env, size int) (*pair, error) {
	slot := (64 + size + 4095) &^ 4095
	mem, err := unix.Mmap(-1, 0, 2*slot, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("mapping %d bytes: %w", 2*slot, err)
	}
	ab, ba := newMutexSlot(mem[:slot]), newMutexSlot(mem[slot:])
	var closed atomic.Bool
	return &pair{
		a:     &mutexEnd{out: ab, in: ba, closed: &closed},
		b:     &mutexEnd{out: ba, in: ab, closed: &closed},
		abort: func() { closed.Store(true) },
		close: func() error { return unix.Munmap(mem) },
	}, nil
}
