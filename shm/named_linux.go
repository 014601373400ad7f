package shm

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/internal/futex"
)

// futexWaker wakes through futexes on the wake words in the shared
// header: a named channel's peer has no descriptor of this process to
// signal. The waiter sleeps while its word holds the value it last saw;
// the peer increments the word, then wakes it.
type futexWaker struct {
	self, peer *uint32
	last       uint32
	closed     atomic.Bool

	beforeSleep func() // a test's step between the checks and the sleep
}

// closeCheck is how long a futex wait sleeps before it looks at the
// closed flag again, whatever a hostile peer does to the word.
var closeCheck = unix.NsecToTimespec(int64(100 * time.Millisecond))

func newFutexWaker(self, peer sideWords) *futexWaker {
	return &futexWaker{self: self.wake, peer: peer.wake, last: atomic.LoadUint32(self.wake)}
}

func (w *futexWaker) wait() error {
	for {
		if w.closed.Load() {
			return os.ErrClosed
		}
		if v := atomic.LoadUint32(w.self); v != w.last {
			w.last = v
			return nil
		}
		// Sleeps unless the word changed since the load (EAGAIN); a
		// signal (EINTR), a spurious return, the timeout or any error
		// loops. A wait blocks its thread; the runtime hands its P to
		// another one meanwhile. The timeout bounds how long close
		// can go unseen: close changes this side's word, but the peer
		// can write the word too, and put back the value this wait
		// compares with, after which only the timeout ends the sleep.
		if w.beforeSleep != nil {
			w.beforeSleep()
		}
		ts := closeCheck
		_ = futex.Wait(w.self, w.last, &ts)
	}
}

func (w *futexWaker) signal() error {
	if w.closed.Load() {
		return os.ErrClosed
	}
	atomic.AddUint32(w.peer, 1)
	return wakeAll(w.peer)
}

// close stops wait: it increments this side's own word and wakes it.
func (w *futexWaker) close() error {
	w.closed.Store(true)
	atomic.AddUint32(w.self, 1)
	return wakeAll(w.self)
}

// wakeAll wakes every waiter on the futex word addr (shared between
// processes: internal/futex). FUTEX_WAKE does not sleep, so it fails with
// neither EAGAIN nor EINTR: its error is a real one.
func wakeAll(addr *uint32) error {
	_, err := futex.Wake(addr, math.MaxInt32)
	return err
}

// checkName refuses names that are not a single path component.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || len(name) > 255 {
		return fmt.Errorf("invalid object name %q: want one path component", name)
	}
	return nil
}

// openDir opens the directory of named objects, refusing a symbolic link
// in its last component.
func openDir(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ELOOP || err == unix.ENOTDIR {
			return -1, fmt.Errorf("%w: %s is not a directory", ErrUntrusted, dir)
		}
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return fd, nil
}

// CreateNamed makes a new channel in a named shared-memory object,
// opts.Dir/name (/dev/shm/name by default), that a peer opens with
// OpenNamed, and returns the creator's endpoint. The object is created
// with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and mode opts.Mode (0600 by
// default, exactly: the umask does not apply), so an existing object or
// a symbolic link planted at the name is an error (os.ErrExist); Close
// removes it.
//
// The peer has no descriptor of this process, so the endpoints wake
// each other through futexes in the shared memory instead of eventfds.
// Unlike a memfd, a named object cannot be sealed: a peer that can open
// it could shrink it, which would make accesses fault. Give it only to
// peers of the same user (the default mode) that are trusted not to.
func CreateNamed(name string, opts *Options) (_ *Channel, err error) {
	o := opts.withDefaults()
	if opts == nil || opts.Name == "" {
		o.Name = name
	}
	if err := checkName(name); err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	if o.Mode&^os.ModePerm != 0 {
		return nil, &Error{Op: "create", Err: fmt.Errorf("mode %v: want permission bits only", o.Mode)}
	}
	total, area, err := layoutSize(o.Slots, o.SlotSize)
	if err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	dfd, err := openDir(o.Dir)
	if err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	path := filepath.Join(o.Dir, name)
	fd, err := unix.Openat(dfd, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		unix.Close(dfd)
		return nil, &Error{Op: "create", Err: &os.PathError{Op: "open", Path: path, Err: err}}
	}
	c := &Channel{}
	// The channel keeps the directory open to remove the object from it.
	c.memfd, c.side, c.path, c.dirfd, c.named = fd, 0, path, dfd, true
	defer func() {
		if err != nil {
			c.abort()
		}
	}()
	if err := unix.Fchmod(fd, uint32(o.Mode)); err != nil { // not subject to the umask
		return nil, &Error{Op: "create", Err: os.NewSyscallError("fchmod", err)}
	}
	if err := unix.Ftruncate(fd, int64(total)); err != nil {
		return nil, &Error{Op: "create", Err: os.NewSyscallError("ftruncate", err)}
	}
	if err := c.format(o, total, area, flagFutex); err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	c.waker = newFutexWaker(c.self, c.peer)
	c.start(o)
	return c, nil
}

// OpenNamed attaches to the channel CreateNamed made at opts.Dir/name and
// returns the attacher's endpoint. It opens the object with
// O_NOFOLLOW|O_CLOEXEC and refuses, with an error wrapping ErrUntrusted,
// a symbolic link, anything but a regular file, and, unless
// opts.AllowOthers, an object owned by another user or with any group or
// other permission bit. The header and rings are checked as FromFiles
// checks them, within opts.Limits; a channel that already has a peer is
// refused with ErrInUse.
func OpenNamed(name string, opts *Options) (_ *Channel, err error) {
	o := opts.withDefaults()
	if opts == nil || opts.Name == "" {
		o.Name = name
	}
	if err := checkName(name); err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	dfd, err := openDir(o.Dir)
	if err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	defer unix.Close(dfd)
	path := filepath.Join(o.Dir, name)
	// O_NONBLOCK: a FIFO planted at the name must not block the open;
	// O_NOCTTY: nor a terminal become this process's.
	fd, err := unix.Openat(dfd, name, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		if err == unix.ELOOP {
			return nil, &Error{Op: "open", Err: fmt.Errorf("%w: %s is a symbolic link", ErrUntrusted, path)}
		}
		return nil, &Error{Op: "open", Err: &os.PathError{Op: "open", Path: path, Err: err}}
	}
	c := &Channel{}
	c.memfd, c.side, c.named = fd, 1, true
	defer func() {
		if err != nil {
			c.abort()
		}
	}()
	if err := trusted(fd, path, o.AllowOthers); err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	flags, err := c.attach(o)
	if err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	if flags&flagFutex == 0 {
		return nil, &Error{Op: "open", Err: fmt.Errorf("%w: not a named channel", ErrLayout)}
	}
	if err := c.claim(true); err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	c.waker = newFutexWaker(c.self, c.peer)
	c.start(o)
	return c, nil
}

// trusted checks an opened object's type, owner and mode.
func trusted(fd int, path string, allowOthers bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%w: %s is not a regular file (mode %#o)", ErrUntrusted, path, st.Mode)
	}
	if st.Nlink != 1 {
		// A hard link to another file of ours (possible for anyone
		// where fs.protected_hardlinks is 0), or an object linked
		// elsewhere: not the one CreateNamed made.
		return fmt.Errorf("%w: %s has %d links, not 1", ErrUntrusted, path, st.Nlink)
	}
	if allowOthers {
		return nil
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid {
		return fmt.Errorf("%w: %s is owned by uid %d, not %d", ErrUntrusted, path, st.Uid, uid)
	}
	if st.Mode&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %#o, open to group or others", ErrUntrusted, path, st.Mode&0o777)
	}
	return nil
}
