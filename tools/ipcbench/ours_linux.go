package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/fakedev"
	"github.com/ipcu/ipcu/internal/spin"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/mailbox"
	mbipcu "github.com/ipcu/ipcu/mailbox/ipcu"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
	"github.com/ipcu/ipcu/shm"
)

// ipcu's transports. Their two sides run on ordinary goroutines, not
// locked threads: their busy polls yield the processor every so often
// (internal/spin), and a goroutine locked to its thread that yields pays
// two thread hand-offs in the Go scheduler each time.

// busyPoll is the busy-poll budget of the busy-polling variants: about a
// second of spinning, so that they never sleep in a measurement.
const busyPoll = 1 << 30

// chanEnd is an endpoint over a mailbox.Channel.
type chanEnd struct{ ch mailbox.Channel }

func (e chanEnd) send(msg []byte) error { return e.ch.Send(context.Background(), msg) }

func (e chanEnd) recv(buf []byte) (int, error) { return e.ch.Recv(context.Background(), buf) }

// chanPair is a pair over two channels, plus what else to close after
// them, in order.
func chanPair(a, b mailbox.Channel, more ...io.Closer) *pair {
	return &pair{
		a:     chanEnd{a},
		b:     chanEnd{b},
		abort: func() { a.Close(); b.Close() },
		close: func() error {
			errs := []error{a.Close(), b.Close()}
			for _, c := range more {
				errs = append(errs, c.Close())
			}
			return errors.Join(errs...)
		},
	}
}

// shmOpener opens an shm.NewPair with 64 slots of size bytes per
// direction, busy-polling poll rounds before sleeping.
func shmOpener(poll int) func(*env, int) (*pair, error) {
	return func(_ *env, size int) (*pair, error) {
		slot := (size + dmaring.SlotHeaderSize + 7) &^ 7
		a, b, err := shm.NewPair(&shm.Options{Slots: 64, SlotSize: slot, BusyPoll: poll,
			Limits: shm.Limits{MaxMessage: 2 * maxSize, MaxMemory: 64 << 20}})
		if err != nil {
			return nil, err
		}
		return chanPair(a, b), nil
	}
}

// ebpfOpener creates a channel of flavour fl in a fresh directory of the
// run's bpffs and opens its other side, busy-polling.
func ebpfOpener(fl ebpf.Flavour) func(*env, int) (*pair, error) {
	return func(e *env, size int) (*pair, error) {
		if err := ebpf.Probe(); err != nil {
			return nil, skip(err.Error())
		}
		root, err := e.bpffs()
		if err != nil {
			return nil, skip(err.Error())
		}
		e.seq++
		dir := filepath.Join(root, fmt.Sprintf("ch%d", e.seq))
		o := &ebpf.Options{Flavour: fl, Depth: 64, MaxMessage: size, BusyPoll: busyPoll}
		a, err := ebpf.Create(dir, o)
		if err != nil {
			return nil, err
		}
		b, err := ebpf.Open(dir, o)
		if err != nil {
			a.Close()
			return nil, err
		}
		// b first: a, the creator, removes the pins.
		return chanPair(b, a), nil
	}
}

// env is what the transports share in a run.
type env struct {
	bpfDir  string // a directory on a bpffs
	bpfErr  error
	bpfDone bool
	mounted string // the bpffs this run mounted, to unmount
	seq     int
}

// bpffs returns a fresh directory on a bpffs: under /sys/fs/bpf when a
// bpffs is mounted there, else on a bpffs this run mounts on a temporary
// directory (which needs root).
func (e *env) bpffs() (string, error) {
	if e.bpfDone {
		return e.bpfDir, e.bpfErr
	}
	e.bpfDone = true
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/bpf", &st) == nil && uint32(st.Type) == unix.BPF_FS_MAGIC {
		e.bpfDir, e.bpfErr = os.MkdirTemp("/sys/fs/bpf", "ipcbench-")
		return e.bpfDir, e.bpfErr
	}
	dir, err := os.MkdirTemp("", "ipcbench-bpffs-")
	if err != nil {
		e.bpfErr = err
		return "", err
	}
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		os.Remove(dir)
		e.bpfErr = fmt.Errorf("no bpffs at /sys/fs/bpf, and mounting one: %w", err)
		return "", e.bpfErr
	}
	e.mounted, e.bpfDir = dir, dir
	return dir, nil
}

// close removes what the run made.
func (e *env) close() error {
	var errs []error
	if e.mounted != "" {
		errs = append(errs, unix.Unmount(e.mounted, 0), os.Remove(e.mounted))
	} else if e.bpfDir != "" {
		errs = append(errs, os.Remove(e.bpfDir))
	}
	return errors.Join(errs...)
}

// closers closes its elements in order.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// fakeBlock is a fakedev block with the management core's set-up done:
// core 1 sends to core 2 on mailbox and DMA channel 0, core 2 to core 1 on
// 1.
type fakeBlock struct {
	dev *fakedev.Device
	drv [3]*mbipcu.Driver
	all closers // in the order to close, the device last
}

func newFakeBlock(withIRQ bool) (_ *fakeBlock, err error) {
	dev, err := fakedev.New(fakedev.Config{})
	if err != nil {
		return nil, err
	}
	fb := &fakeBlock{dev: dev}
	var srcs closers
	defer func() {
		if err != nil {
			fb.Close()
		}
	}()
	for k := range fb.drv {
		c := mbipcu.Config{Bus: dev.Core(k)}
		if withIRQ && k > 0 {
			src, err := irq.FromEventfd(dev.Core(k).EventFD(), false)
			if err != nil {
				return nil, err
			}
			srcs = append(srcs, src)
			c.IRQ = src
		}
		d, err := mbipcu.Open(c)
		if err != nil {
			return nil, err
		}
		fb.drv[k] = d
		fb.all = append(fb.all, d)
	}
	fb.all = append(fb.all, srcs...)
	fb.all = append(fb.all, dev)
	adm := fb.drv[0]
	for _, err := range []error{
		adm.ConfigureMailbox(0, 1, 2), adm.ConfigureMailbox(1, 2, 1),
		adm.ConfigureDMA(0, 1, 2, regmap.DMA_CFG_PRIO_LOW), adm.ConfigureDMA(1, 2, 1, regmap.DMA_CFG_PRIO_LOW),
		adm.Enable(),
	} {
		if err != nil {
			return nil, err
		}
	}
	return fb, nil
}

func (fb *fakeBlock) Close() error { return fb.all.Close() }

// mailboxOpener opens a channel pair over mailboxes 0 and 1 of a fakedev
// block: polling the registers, or sleeping on the interrupt eventfds.
func mailboxOpener(withIRQ bool) func(*env, int) (*pair, error) {
	return func(_ *env, size int) (*pair, error) {
		fb, err := newFakeBlock(withIRQ)
		if err != nil {
			return nil, err
		}
		a, err := fb.drv[1].Channel(mbipcu.ChannelConfig{TX: 0, RX: 1, TxDone: mbipcu.TxDoneQueued})
		if err != nil {
			fb.Close()
			return nil, err
		}
		b, err := fb.drv[2].Channel(mbipcu.ChannelConfig{TX: 1, RX: 0, TxDone: mbipcu.TxDoneQueued})
		if err != nil {
			a.Close()
			fb.Close()
			return nil, err
		}
		return chanPair(a, b, fb), nil
	}
}

// mailboxMax is the reference block's largest mailbox message on fakedev's
// default configuration (4 words).
const mailboxMax = 16

// dmaEnd is one core's side of two DMA channels of a fakedev block: it
// sends on its TX ring and receives from its RX ring, busy-polling the
// write-back words while fakedev's engine runs in its own goroutine.
type dmaEnd struct {
	tx     *dmaring.TX
	rx     *dmaring.RX
	closed *atomic.Bool
}

// dmaSpinner yields often: fakedev's engine is a goroutine that needs a
// processor too.
func dmaSpinner() spin.Spinner { return spin.Spinner{YieldEvery: 4} }

func (e *dmaEnd) send(msg []byte) error {
	s := dmaSpinner()
	for {
		err := e.tx.Send(msg)
		if err == nil {
			_, err = e.tx.Reap()
			return err
		}
		if !errors.Is(err, dmaring.ErrFull) {
			return err
		}
		if _, err := e.tx.Reap(); err != nil {
			return err
		}
		if e.closed.Load() {
			return os.ErrClosed
		}
		s.Spin()
	}
}

func (e *dmaEnd) recv(buf []byte) (int, error) {
	s := dmaSpinner()
	for {
		n, _, err := e.rx.Recv(buf)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, dmaring.ErrEmpty) {
			return 0, err
		}
		if e.closed.Load() {
			return 0, os.ErrClosed
		}
		s.Spin()
	}
}

// dmaBatch is the batch of the DMA ring's streaming (one TX_PROD write
// per batch).
const dmaBatch = 16

// openDMA opens DMA channel 0 (core 1 to 2) and 1 (core 2 to 1) of a
// fakedev block with a free-running engine.
func openDMA(_ *env, size int) (_ *pair, err error) {
	fb, err := newFakeBlock(false)
	if err != nil {
		return nil, err
	}
	var rings closers
	defer func() {
		if err != nil {
			rings.Close()
			fb.Close()
		}
	}()
	ring := 64
	if size > 4096 {
		ring = 16
	}
	mem := func(k int) dmaring.Memory {
		return dmaring.MemoryFunc(func(size, align int) (dmaring.Region, error) { return fb.dev.Core(k).Alloc(size, align) })
	}
	cfg := func(k, c int) dmaring.RingConfig {
		return dmaring.RingConfig{Bus: fb.dev.Core(k), Channel: c, Memory: mem(k), RingSize: ring, BufSize: size}
	}
	// Each RX before its TX, so that no packet stalls.
	rx0, err := dmaring.OpenRX(cfg(2, 0))
	if err != nil {
		return nil, err
	}
	rings = append(closers{rx0}, rings...)
	tx0, err := dmaring.OpenTX(cfg(1, 0))
	if err != nil {
		return nil, err
	}
	rings = append(closers{tx0}, rings...)
	rx1, err := dmaring.OpenRX(cfg(1, 1))
	if err != nil {
		return nil, err
	}
	rings = append(closers{rx1}, rings...)
	tx1, err := dmaring.OpenTX(cfg(2, 1))
	if err != nil {
		return nil, err
	}
	rings = append(closers{tx1}, rings...)
	var closed atomic.Bool
	a := &dmaEnd{tx: tx0, rx: rx1, closed: &closed}
	b := &dmaEnd{tx: tx1, rx: rx0, closed: &closed}
	return &pair{
		a:     a,
		b:     b,
		abort: func() { closed.Store(true) },
		close: func() error { return errors.Join(rings.Close(), fb.Close()) },
		stream: func(m *measure, size int) (*Throughput, error) {
			return streamDMA(m, a, b, size)
		},
	}, nil
}

// streamDMA streams on a's TX ring in batches of dmaBatch (SendBatch: one
// TX_PROD write each), reaping as it goes; b receives.
func streamDMA(m *measure, a, b *dmaEnd, size int) (*Throughput, error) {
	warm := max(m.warmup, 1)
	var got int64
	var elapsed time.Duration
	recv := side(false, -1, func() error {
		buf := make([]byte, size)
		var start time.Time
		for k := 0; ; k++ {
			if k == warm {
				start = time.Now()
			}
			n, err := b.recv(buf)
			if err != nil {
				return fmt.Errorf("receiving: %w", err)
			}
			if n == 0 || buf[0] == markStop {
				elapsed, got = time.Since(start), int64(k-warm)
				return nil
			}
		}
	})
	send := side(false, -1, func() error {
		msg := make([]byte, size)
		msg[0] = markData
		batch := make([][]byte, dmaBatch)
		for i := range batch {
			batch[i] = msg
		}
		// The warm-up one at a time, so that the receiver's clock starts
		// at a known message.
		for range warm {
			if err := a.send(msg); err != nil {
				return err
			}
		}
		s := dmaSpinner()
		end := m.deadline(time.Now())
		for sent := 0; sent < m.n; {
			if !end.IsZero() && time.Now().After(end) {
				break
			}
			n, err := a.tx.SendBatch(batch[:min(dmaBatch, m.n-sent)])
			sent += n
			if err != nil && !errors.Is(err, dmaring.ErrFull) {
				return fmt.Errorf("sending: %w", err)
			}
			if _, err := a.tx.Reap(); err != nil {
				return fmt.Errorf("reaping: %w", err)
			}
			if n == 0 {
				if a.closed.Load() {
					return os.ErrClosed
				}
				s.Spin()
			}
		}
		stop := make([]byte, size)
		stop[0] = markStop
		return a.send(stop)
	})
	if err := join(&pair{abort: func() { a.closed.Store(true) }}, send, recv); err != nil {
		return nil, err
	}
	return newThroughput(got, elapsed, size, dmaBatch), nil
}
