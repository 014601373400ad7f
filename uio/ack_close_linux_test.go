package uio

import (
	"context"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/testenv"
)

// denyWrite makes write(2) on fd fail with ENOSYS on the calling thread
// only, as uio_write does for a driver without irqcontrol
// (uio_pci_generic), through a seccomp filter (no privilege needed with
// no_new_privs). The thread keeps the filter: lock it and let it exit.
func denyWrite(fd int) error {
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: unix.SYS_WRITE},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 16}, // args[0], low word on little-endian
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: uint32(fd)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	return unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0)
}

// TestAckRacingClose: an Ack that falls back to re-enabling INTx through
// the config space (write ENOSYS) while Device.Close runs: Ack held the
// source's lock and wanted the device's, Close held the device's and
// wanted the source's. Stepped: Close starts while Ack is in the
// fallback.
func TestAckRacingClose(t *testing.T) {
	testenv.UnsupportedEmulated(t, "seccomp filters are not translated")
	if unix.SYS_WRITE > 1<<31 || !littleEndian() {
		t.Skip("the filter compares the low word of the first argument, little-endian")
	}
	d := openFake(t, "0")
	in := d.intr.(*interrupt)
	reenable := in.reenable
	entered := make(chan struct{})
	in.reenable = func() error { close(entered); time.Sleep(100 * time.Millisecond); return reenable() }
	acked := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with its filter
		if err := denyWrite(in.fd); err != nil {
			acked <- err
			return
		}
		acked <- in.Ack()
	}()
	select {
	case <-entered:
	case err := <-acked:
		t.Fatalf("Ack did not reach the fallback: %v", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- d.Device.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Ack and Device.Close deadlocked")
	}
	<-acked
}

// TestWaitCancelRace: a cancellation that lands between Wait's check of
// ctx and its setting of the read deadline is not lost (the deadline the
// cancellation moved into the past was put back).
func TestWaitCancelRace(t *testing.T) {
	d := openFake(t, "0")
	src := d.IRQ()
	for i := range 20000 {
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		done := make(chan error, 1)
		go func() { _, err := src.Wait(ctx); done <- err }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("iteration %d: Wait ignored its cancelled context", i)
		}
	}
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}
