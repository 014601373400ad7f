package nsiso

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Init prepares a child started by Cmd and returns, so that the program
// goes on; in any other process it does nothing and returns nil. Call it
// first thing in main (or TestMain), before anything opens files or
// starts goroutines that would:
//
//	func main() {
//		if err := nsiso.Init(); err != nil {
//			log.Fatal(err)
//		}
//		switch nsiso.Role() { ... }
//	}
//
// In the child it closes every descriptor above the granted ones that was
// inherited (one without FD_CLOEXEC: all those the Go runtime and packages
// open have it), makes the mount tree recursively private, mounts fresh
// tmpfs on /dev/shm and /tmp and a fresh proc on /proc, which shows the
// child's PID namespace only, and removes the variables Cmd set from the
// environment, so the child's own children do not run it again. It
// returns an *Error when a step fails, after which the child should exit.
func Init() error {
	v, ok := os.LookupEnv(envInit)
	if !ok {
		return nil
	}
	os.Unsetenv(envInit)
	os.Unsetenv(envRole)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return &Error{Op: "init", Err: fmt.Errorf("bad %s=%q", envInit, v)}
	}
	// The mounts below would hide the host's /dev/shm, /tmp and /proc if
	// this process were not in namespaces of its own: check that it is
	// the first process of a new PID namespace, as Cmd starts it.
	if os.Getpid() != 1 {
		return &Error{Op: "init", Err: fmt.Errorf("%s is set but this is process %d, not the first of a new PID namespace: not started by nsiso.Cmd", envInit, os.Getpid())}
	}
	if err := closeInherited(3 + n); err != nil {
		return &Error{Op: "init", Err: err}
	}
	return setupMounts(0, true, true)
}

// closeInherited closes the descriptors from min on that lack FD_CLOEXEC.
func closeInherited(min int) error {
	return eachInherited(min, func(fd int) error {
		return os.NewSyscallError("close", unix.Close(fd))
	})
}

// MarkInherited sets FD_CLOEXEC on every descriptor from 3 on that lacks
// it, so that no child this process starts later, with a Cmd or otherwise,
// inherits what this process inherited: Go opens its own descriptors
// close-on-exec, but one passed down by the program that started this one
// (a shell, a CI runner) without it goes on to every child. Call it first
// thing in the main of a program that starts Cmds of programs that do not
// call Init (a child that calls Init closes such descriptors itself), and
// not where a descriptor is meant to be inherited by plain exec.
func MarkInherited() error {
	err := eachInherited(3, func(fd int) error {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		return os.NewSyscallError("fcntl", err)
	})
	if err != nil {
		return &Error{Op: "mark inherited", Err: err}
	}
	return nil
}

// eachInherited calls f with every descriptor from min on that lacks
// FD_CLOEXEC.
func eachInherited(min int, f func(fd int) error) error {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return err
	}
	names, err := dir.Readdirnames(-1)
	self := int(dir.Fd())
	dir.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd < min || fd == self {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if errors.Is(err, unix.EBADF) {
			continue
		}
		if err != nil {
			return os.NewSyscallError("fcntl", err)
		}
		if flags&unix.FD_CLOEXEC == 0 {
			if err := f(fd); err != nil {
				return err
			}
		}
	}
	return nil
}
