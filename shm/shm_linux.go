package shm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/internal/pidfd"
	"github.com/ipcu/ipcu/irq"
	"github.com/ipcu/ipcu/mailbox"
)

// sysChannel is the Linux state of a Channel.
type sysChannel struct {
	memfd int
	side  int            // 0 for the creator's endpoint, 1 for the attacher's
	path  string         // the named object CreateNamed made, removed by Close
	dirfd int            // with path: its directory, open, for removing it
	named bool           // made by CreateNamed or OpenNamed: no eventfds
	multi bool           // one of several openers of a named MPMC channel
	watch *pidfd.Watcher // of WatchProcess, or nil

	txShape, rxShape ringShape // the rings, for attach's check of their shapes
}

// ringShape is what dmaring's SPSC and MPMC rings say of their shape.
type ringShape interface {
	Slots() int
	SlotSize() int
}

// eventfdWaker wakes through two eventfds: the peer signals wake, this
// side signals kick.
type eventfdWaker struct {
	wake, kick *irq.Eventfd
}

func (w *eventfdWaker) wait() error {
	_, err := w.wake.Wait(context.Background())
	return err
}

func (w *eventfdWaker) signal() error { return w.kick.Signal() }

func (w *eventfdWaker) close() error { return errors.Join(w.wake.Close(), w.kick.Close()) }

const seals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// Create makes a new channel: a sealed memfd holding two empty rings of
// the shape opts gives, and two eventfds. It returns the creator's
// endpoint; hand Files to the peer, which attaches with FromFiles.
func Create(opts *Options) (_ *Channel, err error) {
	o := opts.withDefaults()
	total, area, err := layoutSize(o.Slots, o.SlotSize)
	if err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	fd, err := unix.MemfdCreate("ipcu-shm", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, &Error{Op: "create", Err: os.NewSyscallError("memfd_create", err)}
	}
	c := &Channel{}
	c.memfd, c.side = fd, 0
	defer func() {
		if err != nil {
			c.abort()
		}
	}()
	if err := unix.Ftruncate(fd, int64(total)); err != nil {
		return nil, &Error{Op: "create", Err: os.NewSyscallError("ftruncate", err)}
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		return nil, &Error{Op: "create", Err: fmt.Errorf("sealing: %w", os.NewSyscallError("fcntl", err))}
	}
	var flags uint32
	if o.Wake == WakeFutex {
		flags = flagFutex
	}
	if err := c.format(o, total, area, flags); err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	if o.Wake == WakeFutex {
		c.waker = newFutexWaker(c.self, c.peer)
		c.start(o)
		return c, nil
	}
	w := &eventfdWaker{}
	c.waker = w
	if w.wake, err = irq.NewEventfd(); err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	if w.kick, err = irq.NewEventfd(); err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	c.start(o)
	return c, nil
}

// format maps c.memfd, of total bytes, and writes the header and two
// empty rings of o's shape into it.
func (c *Channel) format(o Options, total, area int, flags uint32) (err error) {
	if c.mem, err = unix.Mmap(c.memfd, 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return os.NewSyscallError("mmap", err)
	}
	mem := c.mem
	// No peer has the memory yet: plain stores are enough.
	binary.LittleEndian.PutUint32(mem[offMagic:], hdrMagic)
	binary.LittleEndian.PutUint32(mem[offVersion:], hdrVersion)
	binary.LittleEndian.PutUint32(mem[offSlots:], uint32(o.Slots))
	binary.LittleEndian.PutUint32(mem[offSlotSize:], uint32(o.SlotSize))
	if o.MPMC {
		flags |= flagMPMC
	}
	binary.LittleEndian.PutUint32(mem[offFlags:], flags)
	if err := c.rings(mem[ringAlign:ringAlign+area], mem[ringAlign+area:], flags, o.Slots, o.SlotSize); err != nil {
		return err
	}
	c.self, c.peer = wordsOf(mem, 0), wordsOf(mem, 1)
	return nil
}

// rings formats (slots > 0) or attaches (slots 0) the rings of the kind
// flags give: tx is the memory of the ring this side produces into.
func (c *Channel) rings(tx, rx []byte, flags uint32, slots, slotSize int) error {
	c.mpmc = flags&flagMPMC != 0
	init := slots > 0
	if c.mpmc {
		var t, r *dmaring.MPMC
		var err error
		if init {
			t, err = dmaring.InitMPMC(tx, slots, slotSize)
			if err == nil {
				r, err = dmaring.InitMPMC(rx, slots, slotSize)
			}
		} else if t, err = dmaring.AttachMPMC(tx); err == nil {
			r, err = dmaring.AttachMPMC(rx)
		}
		if err != nil {
			return err
		}
		c.tx, c.rx, c.slots, c.maxMsg = t, r, t.Slots(), t.MaxMessage()
		c.txShape, c.rxShape = t, r
		return nil
	}
	var t, r *dmaring.SPSC
	var err error
	if init {
		t, err = dmaring.InitSPSC(tx, slots, slotSize)
		if err == nil {
			r, err = dmaring.InitSPSC(rx, slots, slotSize)
		}
	} else if t, err = dmaring.AttachSPSC(tx); err == nil {
		r, err = dmaring.AttachSPSC(rx)
	}
	if err != nil {
		return err
	}
	c.tx, c.rx, c.slots, c.maxMsg = t.Producer(), r.Consumer(), t.Slots(), t.MaxMessage()
	c.txShape, c.rxShape = t, r
	return nil
}

// attach maps c.memfd, checks the header and the rings, within o's
// limits, and claims the attacher's side. It returns the header's flags.
func (c *Channel) attach(o Options) (flags uint32, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(c.memfd, &st); err != nil {
		return 0, os.NewSyscallError("fstat", err)
	}
	lim := o.Limits.withDefaults()
	if st.Size < ringAlign {
		return 0, fmt.Errorf("%w: object of %d bytes", ErrLayout, st.Size)
	}
	if st.Size > lim.MaxMemory || uint64(st.Size) > math.MaxInt/2 {
		return 0, &mailbox.LimitError{Limit: "memory", Max: lim.MaxMemory, Value: st.Size}
	}
	size := int(st.Size)
	if c.mem, err = unix.Mmap(c.memfd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return 0, os.NewSyscallError("mmap", err)
	}
	mem := c.mem
	// The header is read once, with atomic loads as the peer may write it.
	le := func(off int) uint32 {
		var b [4]byte
		binary.NativeEndian.PutUint32(b[:], atomic.LoadUint32(word(mem, off)))
		return binary.LittleEndian.Uint32(b[:])
	}
	if m, v := le(offMagic), le(offVersion); m != hdrMagic || v != hdrVersion {
		return 0, fmt.Errorf("%w: magic %#x version %d, want %#x version %d", ErrLayout, m, v, hdrMagic, hdrVersion)
	}
	slots, slotSize, flags := le(offSlots), le(offSlotSize), le(offFlags)
	if flags&^(flagFutex|flagMPMC) != 0 {
		return 0, fmt.Errorf("%w: unknown flags %#x", ErrLayout, flags)
	}
	if slots > 1<<30 || slotSize > 1<<30 {
		return 0, fmt.Errorf("%w: %d slots of %d bytes", ErrLayout, slots, slotSize)
	}
	total, area, err := layoutSize(int(slots), int(slotSize))
	if err != nil {
		return 0, err
	}
	if total != size {
		return 0, fmt.Errorf("%w: object of %d bytes, want %d for %d slots of %d bytes", ErrLayout, size, total, slots, slotSize)
	}
	if err := o.Limits.check(int(slots), int(slotSize), total); err != nil {
		return 0, err
	}
	if err := c.rings(mem[ringAlign+area:], mem[ringAlign:ringAlign+area], flags, 0, 0); err != nil {
		return 0, err
	}
	// The limits were checked against the channel header; each ring
	// attached with the shape of its own header, which must be the same.
	for _, r := range []ringShape{c.txShape, c.rxShape} {
		if r.Slots() != int(slots) || r.SlotSize() != int(slotSize) {
			return 0, fmt.Errorf("%w: a ring of %d slots of %d bytes in a channel of %d slots of %d bytes",
				ErrLayout, r.Slots(), r.SlotSize(), slots, slotSize)
		}
	}
	c.self, c.peer = wordsOf(mem, 1), wordsOf(mem, 0)
	if atomic.LoadUint32(c.peer.closed) != 0 {
		return 0, ErrPeerClosed
	}
	if atomic.LoadUint32(c.self.closed) != 0 {
		return 0, fmt.Errorf("%w: the attachers closed the channel", ErrInUse)
	}
	return flags, nil
}

// claim takes the attacher's side, the last step of attaching: a named
// MPMC channel (named: true) takes any number of openers, counted so that
// the last to close tells the creator; any other channel takes one.
//
// The openers' count and the bit that says the last of them left share
// the attached word, changed by compare-and-swap only, so that an opener
// cannot join between the last one's leaving and its telling the creator
// (it would count itself in a channel the creator takes for closed).
func (c *Channel) claim(named bool) error {
	c.multi = c.mpmc && named
	w := word(c.mem, offAttached)
	if !c.multi {
		if !atomic.CompareAndSwapUint32(w, 0, 1) {
			return ErrInUse
		}
		return nil
	}
	for range maxCASRetries {
		v := atomic.LoadUint32(w)
		switch {
		case v&attachedDone != 0:
			return fmt.Errorf("%w: the attachers closed the channel", ErrInUse)
		case v == attachedCount:
			return fmt.Errorf("%w: %d openers", ErrInUse, v)
		}
		if atomic.CompareAndSwapUint32(w, v, v+1) {
			return nil
		}
	}
	return fmt.Errorf("%w: the openers' count keeps changing", ErrInUse)
}

// The attached word of a named MPMC channel: the openers' count, and the
// bit set when the last one left.
const (
	attachedDone  = 1 << 31
	attachedCount = attachedDone - 1

	// maxCASRetries bounds a compare-and-swap loop on a word the other
	// openers change: each failure is another opener's progress, and a
	// hostile one changing the word forever cannot hold the caller.
	maxCASRetries = 1 << 16
)

// abort releases what a failed Create, FromFiles or their named kin
// acquired.
func (c *Channel) abort() {
	if c.mem != nil {
		_ = unix.Munmap(c.mem)
	}
	if c.path != "" {
		_ = c.unlink() // before closing the memfd, which it compares with
	}
	if c.memfd >= 0 {
		_ = unix.Close(c.memfd)
	}
	if c.waker != nil {
		_ = c.waker.close()
	}
}

// Files returns new descriptors for the peer: the memfd, the eventfd that
// wakes the creator and the eventfd that wakes the attacher, in this
// order, whichever endpoint it is called on. The caller owns them and
// closes them once they are handed over (exec.Cmd.ExtraFiles, SCM_RIGHTS)
// or given to FromFiles, which duplicates them.
func (c *Channel) Files() ([]*os.File, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.mem == nil || c.closed.Load() {
		return nil, c.err("files", os.ErrClosed)
	}
	if c.named {
		return nil, c.err("files", errors.New("a named channel is opened by its name"))
	}
	fds := []int{c.memfd}
	if w, ok := c.waker.(*eventfdWaker); ok {
		fds = append(fds, w.wake.FD(), w.kick.FD())
		if c.side == 1 {
			fds[1], fds[2] = fds[2], fds[1]
		}
	}
	names := []string{"shm-memfd", "shm-wake-creator", "shm-wake-attacher"}
	files := make([]*os.File, 0, len(fds))
	for i, fd := range fds {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, c.err("files", os.NewSyscallError("fcntl", err))
		}
		files = append(files, os.NewFile(uintptr(nfd), names[i]))
	}
	return files, nil
}

// FromFiles attaches to the channel whose descriptors are files, in the
// order Files returns them (three, or one for WakeFutex), and returns the
// attacher's endpoint. It
// duplicates the descriptors: the caller still owns files and may close
// them. It checks the memfd before mapping it (sealed against shrinking,
// the size of the shape its header gives) and the rings when attaching;
// a mismatch is an error wrapping ErrLayout or dmaring.ErrLayout. Of opts
// only BusyPoll, Name and Limits are used: the shape is the creator's.
// Attach once per channel: the rings have one producer and one consumer
// per direction.
func FromFiles(files []*os.File, opts *Options) (_ *Channel, err error) {
	o := opts.withDefaults()
	if len(files) != 1 && len(files) != 3 {
		return nil, &Error{Op: "attach", Err: fmt.Errorf("%w: %d files, want 1 or 3", ErrLayout, len(files))}
	}
	c := &Channel{}
	c.memfd, c.side = -1, 1
	defer func() {
		if err != nil {
			c.abort()
		}
	}()
	var fds [3]int
	for i := range fds {
		fds[i] = -1
	}
	defer func() {
		for _, fd := range fds { // those not taken over
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}()
	for i, f := range files {
		if fds[i], err = unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0); err != nil {
			return nil, &Error{Op: "attach", Err: os.NewSyscallError("fcntl", err)}
		}
	}
	c.memfd, fds[0] = fds[0], -1
	got, err := unix.FcntlInt(uintptr(c.memfd), unix.F_GET_SEALS, 0)
	if err != nil {
		return nil, &Error{Op: "attach", Err: fmt.Errorf("%w: not a sealable memfd: %w", ErrLayout, os.NewSyscallError("fcntl", err))}
	}
	if got&seals != seals {
		return nil, &Error{Op: "attach", Err: fmt.Errorf("%w: memfd seals %#x, want %#x", ErrLayout, got, seals)}
	}
	flags, err := c.attach(o)
	if err != nil {
		return nil, &Error{Op: "attach", Err: err}
	}
	if flags&flagFutex != 0 { // the eventfds, if given, are not used
		if err := c.claim(false); err != nil {
			return nil, &Error{Op: "attach", Err: err}
		}
		c.waker = newFutexWaker(c.self, c.peer)
		c.start(o)
		return c, nil
	}
	if len(files) != 3 {
		return nil, &Error{Op: "attach", Err: fmt.Errorf("%w: a channel woken through eventfds needs 3 files, got %d", ErrLayout, len(files))}
	}
	w := &eventfdWaker{}
	c.waker = w
	if w.kick, err = irq.FromEventfd(fds[1], true); err != nil {
		return nil, &Error{Op: "attach", Err: err}
	}
	fds[1] = -1
	if w.wake, err = irq.FromEventfd(fds[2], true); err != nil {
		return nil, &Error{Op: "attach", Err: err}
	}
	fds[2] = -1
	if err := c.claim(false); err != nil {
		return nil, &Error{Op: "attach", Err: err}
	}
	c.start(o)
	return c, nil
}

// NewPair returns two connected endpoints in this process, each mapping
// the memfd on its own: what a sends, b receives, and the other way.
func NewPair(opts *Options) (a, b *Channel, err error) {
	a, err = Create(opts)
	if err != nil {
		return nil, nil, err
	}
	files, err := a.Files()
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	b, err = FromFiles(files, opts)
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// WatchProcess ties the endpoint to the peer's process p, through a pidfd
// (pidfd_open, Linux 5.3): once p exits, Send on a full ring and Recv on
// an empty one fail with an error wrapping ErrPeerExited and
// mailbox.ErrBroken instead of waiting, and blocked calls wake. Messages
// the peer queued before it died are still received first. Call it at
// most once, from the parent (p its child, not yet waited for) or from a
// process that otherwise knows p is the peer.
func (c *Channel) WatchProcess(p *os.Process) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mem == nil || c.closed.Load() {
		return c.err("watch", os.ErrClosed)
	}
	if c.watch != nil {
		return c.err("watch", errors.New("already watching a process"))
	}
	w, err := pidfd.Watch(p, func() {
		c.peerGone.Store(true)
		c.broadcast()
	})
	if err != nil {
		return c.err("watch", err)
	}
	c.watch = w
	return nil
}

// markClosed tells the peer this endpoint closed: it sets this side's
// closed word, or, for one of several openers, counts itself out and sets
// it when it is the last.
func (c *Channel) markClosed() {
	if c.multi {
		w := word(c.mem, offAttached)
		for range maxCASRetries {
			v := atomic.LoadUint32(w)
			n := v&attachedCount - 1
			if v&attachedCount == 0 { // broken by a peer: say closed
				n = 0
			}
			if n == 0 {
				n |= attachedDone
			}
			if atomic.CompareAndSwapUint32(w, v, n) {
				if n&attachedDone == 0 {
					return // others are still attached
				}
				break
			}
		}
	}
	atomic.StoreUint32(c.self.closed, 1)
}

// release unmaps the memory, closes the memfd and the pidfd, and removes
// the named object CreateNamed made. Called by Close with mu held.
func (c *Channel) release() error {
	var errs []error
	if err := c.watch.Close(); err != nil { // waits for the watch to end
		errs = append(errs, err)
	}
	if err := unix.Munmap(c.mem); err != nil {
		errs = append(errs, os.NewSyscallError("munmap", err))
	}
	if c.path != "" {
		if err := c.unlink(); err != nil { // before closing the memfd, which it compares with
			errs = append(errs, err)
		}
	}
	if err := unix.Close(c.memfd); err != nil {
		errs = append(errs, os.NewSyscallError("close", err))
	}
	return errors.Join(errs...)
}

// unlink removes the object CreateNamed made, through the directory it
// opened then (a directory renamed or replaced since is not followed),
// if the name still refers to that object: another object put at the
// name since is left alone. It closes the directory.
func (c *Channel) unlink() error {
	defer unix.Close(c.dirfd)
	name := filepath.Base(c.path)
	var ours, there unix.Stat_t
	if err := unix.Fstat(c.memfd, &ours); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	if err := unix.Fstatat(c.dirfd, name, &there, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil // removed by someone else
		}
		return &os.PathError{Op: "stat", Path: c.path, Err: err}
	}
	if there.Dev != ours.Dev || there.Ino != ours.Ino {
		return nil // not ours any more
	}
	if err := unix.Unlinkat(c.dirfd, name, 0); err != nil && err != unix.ENOENT {
		return &os.PathError{Op: "remove", Path: c.path, Err: err}
	}
	return nil
}
