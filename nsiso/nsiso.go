package nsiso

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"sync"
)

// Errors of this package, for errors.Is.
var (
	// ErrNotSupported: the system, the kernel or the privileges of the
	// process do not allow the namespaces a domain needs. Errors wrapping
	// it say why and wrap the errno too.
	ErrNotSupported = errors.New("namespaces are not supported")
)

// Error is the error of setting up a domain or a child: Op names the step
// ("unshare ipc, mnt", "mount tmpfs on /dev/shm", "start", "init") and Err
// is the cause,
// which errors.Is and errors.As reach through Unwrap. Errors of the
// function run in a domain are returned as they are.
type Error struct {
	// Op is the operation that failed.
	Op string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string { return "nsiso: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Options describe a domain. The zero value (or a nil *Options) is the
// default.
type Options struct {
	// Tmp mounts a fresh tmpfs on /tmp too (default: only /dev/shm).
	Tmp bool
	// ShmSize limits each tmpfs the domain mounts, in bytes (default 0:
	// the kernel's default, half of the RAM).
	ShmSize int64
}

// Env variables with which Cmd tells the child what Init has to do.
const (
	// envInit holds the number of granted descriptors; its presence
	// makes Init prepare the child.
	envInit = "IPCU_NSISO"
	// envRole holds the role given to Reexec.
	envRole = "IPCU_NSISO_ROLE"
)

// startRole is the role this process was started with, saved before Init
// removes it from the environment.
var startRole = os.Getenv(envRole)

// Role returns the role this process was started with by Reexec, or ""
// when it was not started that way. A program dispatches on it after Init:
//
//	if err := nsiso.Init(); err != nil { ... }
//	switch nsiso.Role() { case "worker": ... }
func Role() string { return startRole }

// Do runs f in a new domain made with opts, closes the domain and returns
// f's error, or the *Error of setting the domain up. Do does not cancel f:
// f should watch ctx itself if it blocks.
func Do(ctx context.Context, opts *Options, f func() error) error {
	d, err := New(opts)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Run(ctx, f)
}

// Supported reports whether this process can make domains, by making one
// and closing it: nil, or the *Error New returned.
func Supported() error {
	d, err := New(nil)
	if err != nil {
		return err
	}
	return d.Close()
}

// A Domain is a locked OS thread in its own IPC, network and mount
// namespaces, running the functions given to Run one at a time. Its
// methods may be called from several goroutines at once.
type Domain struct {
	reqs chan request
	quit chan struct{} // closed by Close
	done chan struct{} // closed when the thread's goroutine has returned

	closeOnce sync.Once
	closeErr  error

	sysDomain
}

type request struct {
	f   func() error
	res chan result // buffered, 1
}

type result struct {
	err      error
	panicked bool
	val      any // the panic's value
	exited   bool
}

// errGoexit is the error of a Run whose function called runtime.Goexit
// (t.FailNow, for one): the domain's thread is gone with it.
var errGoexit = errors.New("the function called runtime.Goexit; the domain is closed")

// Run runs f on the domain's thread and returns its error. A panic in f is
// raised again in the caller of Run. ctx bounds only the wait for the
// thread, while it runs an earlier function; once f has started, Run
// waits for it. f must not call runtime.Goexit (t.FailNow, require.X):
// the thread dies with it, Run returns an error and the domain is closed.
// An unbalanced runtime.UnlockOSThread in f does not free the thread: the
// domain locks it twice.
// Goroutines f starts run outside the domain. After Close, Run fails with
// an error wrapping os.ErrClosed.
func (d *Domain) Run(ctx context.Context, f func() error) error {
	if d == nil {
		return &Error{Op: "run", Err: os.ErrClosed}
	}
	r := request{f: f, res: make(chan result, 1)}
	select {
	case <-d.quit:
		return &Error{Op: "run", Err: os.ErrClosed}
	case <-d.done:
		return &Error{Op: "run", Err: os.ErrClosed}
	case <-ctx.Done():
		return &Error{Op: "run", Err: ctx.Err()}
	case d.reqs <- r:
	}
	res := <-r.res
	switch {
	case res.panicked:
		panic(res.val)
	case res.exited:
		return &Error{Op: "run", Err: errGoexit}
	}
	return res.err
}

// serve runs requests on the locked thread until Close, or until a
// function calls runtime.Goexit.
func (d *Domain) serve() {
	for {
		select {
		case <-d.quit:
			return
		case r := <-d.reqs:
			call(r)
		}
	}
}

// call runs r.f and sends its result, a panic turned into a result, or
// the news that it called runtime.Goexit, which goes on unwinding the
// goroutine.
func call(r request) {
	normal := false
	defer func() {
		if normal {
			return
		}
		if v := recover(); v != nil {
			r.res <- result{panicked: true, val: v}
			return
		}
		r.res <- result{exited: true}
	}()
	err := r.f()
	normal = true
	r.res <- result{err: err}
}

// Close ends the domain: it waits for the function running, if any, lets
// the thread exit locked, so that the runtime terminates it and the
// namespaces go away with their last user, and releases what the domain
// held. It is idempotent and nil-safe.
func (d *Domain) Close() error {
	if d == nil {
		return nil
	}
	d.closeOnce.Do(func() {
		close(d.quit)
		<-d.done
		d.closeErr = d.release()
	})
	return d.closeErr
}

// A Cmd is a child process to start in new IPC, network, mount, PID and
// UTS namespaces, inheriting only standard input, output and error and the
// files granted to it. Set its fields before Start; the zero value is not
// usable, make one with Command or Reexec.
//
// The child is the first process (PID 1) of its PID namespace: when it
// exits, the kernel kills whatever it left in there, and it has to reap
// the children it starts itself. It gets SIGKILL when this process dies.
type Cmd struct {
	// Path is the program to run; Args its arguments, Args[0] included.
	Path string
	Args []string
	// Env is the child's environment (nil: this process's), to which
	// Start adds the variables Init reads.
	Env []string
	// Dir is the child's working directory ("": this process's).
	Dir string
	// Stdin, Stdout and Stderr are as in exec.Cmd: nil is the null
	// device.
	Stdin          io.Reader
	Stdout, Stderr io.Writer

	// Process is the child, once started.
	Process *os.Process
	// ProcessState is its exit status, once waited for.
	ProcessState *os.ProcessState

	granted []*os.File
	role    string
	sysCmd
}

// Command returns a Cmd that runs the program name with args, as
// exec.Command does (a name without a slash is looked up in PATH when
// the Cmd starts). A Go program calls Init first; any other program gets
// the namespaces but not the private mounts (see the package comment).
func Command(name string, args ...string) *Cmd {
	return &Cmd{Path: name, Args: append([]string{name}, args...)}
}

// Reexec returns a Cmd that runs this program again, through
// /proc/self/exe, with args and with role, which the child reads with
// Role after calling Init. Test binaries use it from TestMain:
//
//	func TestMain(m *testing.M) {
//		if nsiso.Role() != "" {
//			os.Exit(runChild()) // calls nsiso.Init first
//		}
//		os.Exit(m.Run())
//	}
func Reexec(role string, args ...string) *Cmd {
	c := Command(selfExe, args...)
	c.Args[0] = os.Args[0]
	c.role = role
	return c
}

// selfExe is the running program, for Reexec.
const selfExe = "/proc/self/exe"

// Grant gives files to the child, as fds 3, 4, ... in the order of the
// calls and arguments. Cmd does not take ownership: the caller closes its
// files after Start, as with exec.Cmd.ExtraFiles.
func (c *Cmd) Grant(files ...*os.File) {
	c.granted = append(c.granted, files...)
}

// childEnv returns env without the variables of this package, plus those
// that tell the child's Init what to do.
func (c *Cmd) childEnv() []string {
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		if hasKey(kv, envInit) || hasKey(kv, envRole) {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, envInit+"="+strconv.Itoa(len(c.granted)))
	if c.role != "" {
		out = append(out, envRole+"="+c.role)
	}
	return out
}

func hasKey(kv, key string) bool {
	return len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key
}
