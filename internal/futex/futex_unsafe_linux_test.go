package futex

import (
	"errors"
	"math"
	"os"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// sharedMem returns a page of shared anonymous memory, where a futex word
// is keyed as one shared between processes is; the test's cleanup unmaps
// it.
func sharedMem(t *testing.T) []byte {
	t.Helper()
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, unix.Munmap(mem)) })
	return mem
}

// word returns a futex word, 0, in shared memory.
func word(t *testing.T) *uint32 {
	t.Helper()
	return (*uint32)(unsafe.Pointer(&sharedMem(t)[0]))
}

// deadline is how long a test waits for a wake-up to go through.
const deadline = 10 * time.Second

// A waiter in another goroutine sleeps until the word changes and a Wake
// follows.
func TestWake(t *testing.T) {
	w := word(t)
	done := make(chan error, 1)
	go func() {
		for atomic.LoadUint32(w) == 0 {
			err := Wait(w, 0, nil)
			if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				done <- err
				return
			}
		}
		done <- nil
	}()
	// Wake until it reports a waiter woken: the waiter was asleep. It
	// goes back to sleep, the word being unchanged.
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		n, err := Wake(w, 1)
		require.NoError(t, err)
		if n == 1 {
			break
		}
		require.Zero(t, n)
		require.Less(t, time.Since(start), deadline, "no waiter asleep")
	}
	atomic.StoreUint32(w, 1)
	_, err := Wake(w, math.MaxInt32)
	require.NoError(t, err)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(deadline):
		t.Fatal("the waiter was not woken")
	}
}

// Wake wakes at most n waiters and returns how many.
func TestWakeCount(t *testing.T) {
	w := word(t)
	const waiters = 3
	done := make(chan error, waiters)
	for range waiters {
		go func() {
			for {
				err := Wait(w, 0, nil)
				if !errors.Is(err, unix.EINTR) {
					done <- err
					return
				}
			}
		}()
	}
	woken := 0
	for start := time.Now(); woken < waiters; time.Sleep(time.Millisecond) {
		n, err := Wake(w, 2)
		require.NoError(t, err)
		require.LessOrEqual(t, n, 2)
		woken += n
		require.Less(t, time.Since(start), deadline, "%d of %d waiters woken", woken, waiters)
	}
	require.Equal(t, waiters, woken)
	for range waiters {
		require.NoError(t, <-done)
	}
	n, err := Wake(w, math.MaxInt32)
	require.NoError(t, err)
	assert.Zero(t, n, "woken with no waiter")
}

// Wait returns EAGAIN at once when the word does not hold the value.
func TestWaitValueDiffers(t *testing.T) {
	w := word(t)
	atomic.StoreUint32(w, 1)
	err := Wait(w, 0, nil)
	require.ErrorIs(t, err, unix.EAGAIN)
	var se *os.SyscallError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "futex", se.Syscall)

	// The preallocated error: a caller looping on EAGAIN does not
	// allocate.
	allocs := testing.AllocsPerRun(100, func() { _ = Wait(w, 0, nil) })
	assert.Zero(t, allocs, "allocations per Wait returning EAGAIN")
}

// Wait returns ETIMEDOUT once its timeout has passed.
func TestWaitTimeout(t *testing.T) {
	w := word(t)
	const timeout = 20 * time.Millisecond
	ts := unix.NsecToTimespec(int64(timeout))
	start := time.Now()
	err := Wait(w, 0, &ts)
	for errors.Is(err, unix.EINTR) {
		err = Wait(w, 0, &ts)
	}
	require.ErrorIs(t, err, unix.ETIMEDOUT)
	assert.GreaterOrEqual(t, time.Since(start), timeout)
}

// Other errors come from the kernel as they are: a misaligned word is
// EINVAL.
func TestMisaligned(t *testing.T) {
	w := (*uint32)(unsafe.Pointer(&sharedMem(t)[1]))
	_, err := Wake(w, 1)
	require.ErrorIs(t, err, unix.EINVAL)
	var se *os.SyscallError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "futex", se.Syscall)
	assert.ErrorIs(t, Wait(w, 0, nil), unix.EINVAL)
}
