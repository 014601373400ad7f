package nsiso

import (
	"errors"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysCmd is what a Cmd holds on Linux.
type sysCmd struct {
	cmd *exec.Cmd
}

// cloneFlags are the namespaces a Cmd's child gets from clone(2), and
// unshareFlags the one it gets from unshare(2) in the child, before exec:
// the mount namespace, because for it Go's exec then makes / recursively
// private, so that nothing the child mounts (before Init, or ever, if it
// does not call Init) propagates back to this process's namespace through
// shared mounts.
const (
	cloneFlags   = unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWPID | unix.CLONE_NEWUTS
	unshareFlags = unix.CLONE_NEWNS
)

// Start starts the child in new IPC, network, mount, PID and UTS
// namespaces, in a process group of its own, with the granted files as
// fds 3, 4, ... and nothing else beyond 0, 1 and 2: every descriptor Go
// opens is close-on-exec, and Init closes in the child any descriptor
// inherited from elsewhere (one made without O_CLOEXEC by C code, or
// inherited by this process). It fails with an *Error, wrapping
// ErrNotSupported when the kernel or the privileges do not allow the
// namespaces.
//
// The child gets SIGKILL when this process dies. The kernel sends that
// signal when the thread that forked the child exits, not the process, and
// Go terminates a thread when a goroutine exits locked to it (as a Domain's
// does), so Start forks from a thread kept for that purpose, locked for
// the life of the process.
func (c *Cmd) Start() error {
	if c.cmd != nil {
		return &Error{Op: "start", Err: errors.New("already started")}
	}
	cmd := &exec.Cmd{
		Path:       c.Path,
		Args:       c.Args,
		Env:        c.childEnv(),
		Dir:        c.Dir,
		Stdin:      c.Stdin,
		Stdout:     c.Stdout,
		Stderr:     c.Stderr,
		ExtraFiles: c.granted,
		SysProcAttr: &syscall.SysProcAttr{

			Cloneflags:   cloneFlags,
			Unshareflags: unshareFlags,
			Setpgid:      true,
			Pdeathsig:    syscall.SIGKILL,
		},
	}
	if c.Path != selfExe && !containsSlash(c.Path) {
		lp, err := exec.LookPath(c.Path)
		if err != nil {
			return &Error{Op: "start", Err: err}
		}
		cmd.Path = lp
	}
	if err := onForker(cmd.Start); err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return nsError("start", errno)
		}
		return &Error{Op: "start", Err: err}
	}
	c.cmd = cmd
	c.Process = cmd.Process
	return nil
}

// Wait waits for the child to exit and for the copying of its standard
// streams, as exec.Cmd.Wait does, and sets ProcessState.
func (c *Cmd) Wait() error {
	if c.cmd == nil {
		return &Error{Op: "wait", Err: errors.New("not started")}
	}
	err := c.cmd.Wait()
	c.ProcessState = c.cmd.ProcessState
	return err
}

// Run starts the child and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

// forker is the thread that starts children, so that their parent death
// signal means the death of this process: it is locked and never exits.
var forker struct {
	once sync.Once
	reqs chan func()
}

// onForker runs f on the forker thread and returns its error.
func onForker(f func() error) error {
	forker.once.Do(func() {
		forker.reqs = make(chan func())
		go func() {
			runtime.LockOSThread() // for good: see Start
			for g := range forker.reqs {
				g()
			}
		}()
	})
	errc := make(chan error, 1)
	forker.reqs <- func() { errc <- f() }
	return <-errc
}
