package nsiso_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/mailbox/mailboxtest"
	"github.com/ipcu/ipcu/nsiso"
	"github.com/ipcu/ipcu/shm"
)

// Roles of the re-executed test binary.
const (
	roleReport = "report" // probe, Init, probe again, print a childReport
	roleEcho   = "echo"   // Init, then echo the shm channel on fds 3, 4, 5
)

// childArgs are what the parent tells the report child, as arguments.
type childArgs struct {
	ParentPID int    // the parent's PID in the host's PID namespace
	HiddenFD  int    // a descriptor of the parent the child was not granted
	HostShm   string // a file the parent made in /dev/shm
	SysvKey   int    // a SysV shared-memory key the parent made
	ChildShm  string // a file the child makes in its /dev/shm
}

// childReport is what the report child prints as JSON on its stdout.
type childReport struct {
	PID int
	// Before Init: every descriptor (number -> target), and those
	// inherited, without FD_CLOEXEC.
	FDsBefore       map[int]fdInfo
	InheritedBefore []int
	// After Init: the same.
	FDsAfter       map[int]fdInfo
	InheritedAfter []int
	// Errors ("" for success) of opening /proc/<parent>/fd/<hidden> and
	// of looking at the parent's /dev/shm file, before and after Init.
	HiddenBefore, HiddenAfter   string
	HostShmBefore, HostShmAfter string
	// The error of looking up the parent's SysV key.
	SysvAfter string
	// The error of making ChildShm.
	ChildShm string
	// The network interfaces, and the namespaces (readlink of
	// /proc/self/ns/*), after Init.
	Interfaces []iface
	NS         map[string]string
}

type iface struct {
	Name string
	Up   bool
}

func runChild(role string, args []string) error {
	switch role {
	case roleReport:
		if len(args) != 1 {
			return fmt.Errorf("want one argument, got %q", args)
		}
		var a childArgs
		if err := json.Unmarshal([]byte(args[0]), &a); err != nil {
			return err
		}
		r, err := report(a)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(r)
	case roleEcho:
		if err := nsiso.Init(); err != nil {
			return err
		}
		return echo()
	}
	return fmt.Errorf("unknown role %q", role)
}

func report(a childArgs) (*childReport, error) {
	r := &childReport{}
	var err error
	// First, before anything opens a descriptor.
	if r.FDsBefore, r.InheritedBefore, err = listFDs(); err != nil {
		return nil, err
	}
	hidden := fmt.Sprintf("/proc/%d/fd/%d", a.ParentPID, a.HiddenFD)
	r.HiddenBefore = errString(openClose(hidden))
	r.HostShmBefore = errString(statErr(a.HostShm))
	if err := nsiso.Init(); err != nil {
		return nil, err
	}
	r.PID = os.Getpid()
	if r.FDsAfter, r.InheritedAfter, err = listFDs(); err != nil {
		return nil, err
	}
	r.HiddenAfter = errString(openClose(hidden))
	r.HostShmAfter = errString(statErr(a.HostShm))
	_, err = unix.SysvShmGet(a.SysvKey, 0, 0)
	r.SysvAfter = errString(err)
	if a.ChildShm != "" {
		r.ChildShm = errString(os.WriteFile(a.ChildShm, []byte("child"), 0o600))
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, i := range ifs {
		r.Interfaces = append(r.Interfaces, iface{Name: i.Name, Up: i.Flags&net.FlagUp != 0})
	}
	if r.NS, err = namespaces("/proc/self"); err != nil {
		return nil, err
	}
	return r, nil
}

// fdInfo describes one descriptor.
type fdInfo struct {
	Target  string // readlink of /proc/self/fd/N
	ID      string // what it refers to: see fdIdentity
	CloExec bool
}

// listFDs returns the open descriptors of the process but the one it
// reads the list through, and the numbers of those without FD_CLOEXEC:
// after an exec, these are the ones it inherited.
func listFDs() (map[int]fdInfo, []int, error) {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, nil, err
	}
	names, err := dir.Readdirnames(-1)
	self := int(dir.Fd())
	defer dir.Close()
	if err != nil {
		return nil, nil, err
	}
	all := map[int]fdInfo{}
	var inherited []int
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd == self {
			continue
		}
		var info fdInfo
		info.Target, _ = os.Readlink(filepath.Join("/proc/self/fd", n))
		if info.ID, err = fdIdentity(fd); err != nil {
			return nil, nil, err
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			return nil, nil, err
		}
		info.CloExec = flags&unix.FD_CLOEXEC != 0
		if !info.CloExec {
			inherited = append(inherited, fd)
		}
		all[fd] = info
	}
	sort.Ints(inherited)
	return all, inherited, nil
}

// fdIdentity names what fd refers to, the same in every process: the
// device and inode, or for an eventfd, whose inode all eventfds share, its
// id from /proc/self/fdinfo.
func fdIdentity(fd int) (string, error) {
	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(info), "\n") {
		if id, ok := strings.CutPrefix(line, "eventfd-id:"); ok {
			return "eventfd " + strings.TrimSpace(id), nil
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("inode %d:%d", st.Dev, st.Ino), nil
}

// namespaces returns the namespaces of a process or thread directory of
// /proc, by type.
func namespaces(dir string) (map[string]string, error) {
	ns := map[string]string{}
	for _, t := range []string{"ipc", "mnt", "net", "pid", "uts"} {
		link, err := os.Readlink(filepath.Join(dir, "ns", t))
		if err != nil {
			return nil, err
		}
		ns[t] = link
	}
	return ns, nil
}

func openClose(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

func statErr(path string) error {
	_, err := os.Stat(path)
	return err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// echo attaches to the channel on fds 3, 4 and 5 and sends back every
// message it receives until an empty one.
func echo() error {
	files := []*os.File{os.NewFile(3, "memfd"), os.NewFile(4, "wake0"), os.NewFile(5, "wake1")}
	c, err := shm.FromFiles(files, nil)
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		return err
	}
	defer c.Close()
	return mailboxtest.Echo(context.Background(), c)
}
