package nsiso

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// sysDomain is what a domain holds on Linux.
type sysDomain struct {
	// net is a handle on the domain's network namespace, opened by
	// netns.New on the domain's thread.
	net netns.NsHandle
}

func (d *Domain) release() error {
	if d.net.IsOpen() {
		return d.net.Close()
	}
	return nil
}

// New makes a domain: a goroutine locked to an OS thread that it moves into
// new IPC, network and mount namespaces, with / made recursively private
// and fresh tmpfs mounted on /dev/shm (and /tmp with opts.Tmp). It fails
// with an *Error, wrapping ErrNotSupported when the kernel or the
// privileges do not allow it. Close the domain to end the thread.
func New(opts *Options) (*Domain, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.ShmSize < 0 {
		return nil, &Error{Op: "new", Err: fmt.Errorf("negative ShmSize %d", o.ShmSize)}
	}
	d := &Domain{
		reqs: make(chan request),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	d.net = netns.None()
	ready := make(chan error, 1)
	go d.thread(o, ready, nil)
	if err := <-ready; err != nil {
		<-d.done
		// The network namespace's handle, if enter got that far, is the
		// last reference to the namespace: close it.
		_ = d.release()
		return nil, err
	}
	return d, nil
}

// thread is the domain's goroutine. It locks its OS thread and never
// unlocks it once a namespace changed: when it returns, the runtime
// terminates the thread instead of giving it to another goroutine.
// locked, if not nil, is closed once the thread is locked.
func (d *Domain) thread(o Options, ready chan<- error, locked chan<- struct{}) {
	// Twice: an unbalanced runtime.UnlockOSThread in a function given to
	// Run undoes one, and the thread stays locked (LockOSThread nests).
	runtime.LockOSThread()
	runtime.LockOSThread()
	if locked != nil {
		close(locked)
	}
	if unix.Gettid() == unix.Getpid() {
		// The main thread: when a goroutine exits locked to it, the
		// runtime keeps it, wedged, rather than terminate it, and
		// /proc/self would show its namespaces as the process's. Hand
		// over to another thread: while this goroutine holds the main
		// thread locked, a new goroutine cannot start on it.
		next := make(chan struct{})
		go d.thread(o, ready, next)
		<-next
		runtime.UnlockOSThread() // unaltered
		runtime.UnlockOSThread()
		return
	}
	defer close(d.done)
	altered, err := enter(o, &d.net)
	if err != nil {
		if !altered {
			runtime.UnlockOSThread()
			runtime.UnlockOSThread()
		}
		ready <- err
		return
	}
	ready <- nil
	d.serve()
	// Return locked: the thread dies with the goroutine.
}

// enter moves the calling, locked, thread into new namespaces and sets up
// the mounts. altered reports whether the thread changed, in which case
// it must not be unlocked even on error.
func enter(o Options, net *netns.NsHandle) (altered bool, err error) {
	// CLONE_NEWNS implies CLONE_FS: the thread leaves the fs_struct
	// (root, cwd, umask) it shared with the other threads of the process
	// and gets a copy, which unshare allows in a multi-threaded process
	// (only CLONE_NEWUSER, CLONE_VM and CLONE_SIGHAND demand a single
	// thread).
	if err := unix.Unshare(unix.CLONE_NEWIPC | unix.CLONE_NEWNS); err != nil {
		return false, nsError("unshare ipc, mnt", err)
	}
	h, err := netns.New() // unshare(CLONE_NEWNET) and a handle on it
	if err != nil {
		return true, nsError("unshare net", err)
	}
	*net = h
	if err := setupMounts(o.ShmSize, o.Tmp, false); err != nil {
		return true, err
	}
	return true, nil
}

// shmDir is where a domain mounts its tmpfs: /dev/shm, but in a test of
// what a failed mount leaves behind.
var shmDir = "/dev/shm"

// setupMounts makes the calling thread's mount namespace private and
// mounts fresh tmpfs on /dev/shm, on /tmp if tmp, and a fresh proc on
// /proc if proc.
func setupMounts(size int64, tmp, proc bool) error {
	// Nothing mounted from here may propagate to the mount namespace
	// this one was copied from, nor the reverse.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nsError("make / private", err)
	}
	data := "mode=1777"
	if size > 0 {
		data += ",size=" + strconv.FormatInt(size, 10)
	}
	dirs := []string{shmDir}
	if tmp {
		dirs = append(dirs, "/tmp")
	}
	for _, dir := range dirs {
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, data); err != nil {
			return nsError("mount tmpfs on "+dir, err)
		}
	}
	if proc {
		// proc shows the PID namespace of the process that mounts it.
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return nsError("mount proc on /proc", err)
		}
	}
	return nil
}

// nsError wraps an errno of unshare, clone or mount in an *Error that says
// what it means here.
func nsError(op string, err error) error {
	var why string
	switch {
	case errors.Is(err, unix.EPERM):
		why = "no CAP_SYS_ADMIN, or a seccomp or LSM policy forbids it: run as root or grant the capability"
	case errors.Is(err, unix.EINVAL):
		why = "the kernel lacks a namespace type (CONFIG_IPC_NS, CONFIG_NET_NS, CONFIG_PID_NS, CONFIG_UTS_NS) or refuses the flags here"
	case errors.Is(err, unix.ENOSYS):
		why = "the kernel has no unshare"
	case errors.Is(err, unix.ENOSPC):
		return &Error{Op: op, Err: fmt.Errorf("the limit on namespaces is reached (/proc/sys/user/max_*_namespaces): %w", err)}
	default:
		return &Error{Op: op, Err: err}
	}
	return &Error{Op: op, Err: fmt.Errorf("%w (%s): %w", ErrNotSupported, why, err)}
}
