package shm_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/mailbox"
	"github.com/ipcu/ipcu/mailbox/mailboxtest"
	"github.com/ipcu/ipcu/shm"
)

// childVar makes the test binary, re-executed by a test, run childEcho
// instead of the tests.
const childVar = "IPCU_SHM_TEST_CHILD"

// childRoles are what a re-executed test binary can be; the Linux tests
// add theirs.
var childRoles = map[string]func() error{"echo": childEcho}

func TestMain(m *testing.M) {
	mailboxtest.ServeRemote(attachRemote)
	if role := os.Getenv(childVar); role != "" {
		child := childRoles[role]
		if child == nil {
			fmt.Fprintln(os.Stderr, "child: unknown role", role)
			os.Exit(2)
		}
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	leakcheck.Main(m)
}

// childEcho attaches to the channel whose descriptors are 3, 4 and 5
// (exec.Cmd.ExtraFiles) and sends back every message it receives, until
// it receives an empty one.
func childEcho() error {
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

// attachRemote opens the endpoint a remote child serves for the
// cross-process conformance tests: the files of Channel.Files, with the
// busy-poll count as the name.
func attachRemote(name string, files []*os.File) (mailbox.Channel, error) {
	if obj, ok := strings.CutPrefix(name, "named="); ok {
		return shm.OpenNamed(obj, nil)
	}
	var o shm.Options
	if _, err := fmt.Sscanf(name, "busypoll=%d", &o.BusyPoll); err != nil {
		return nil, fmt.Errorf("bad remote name %q: %w", name, err)
	}
	return shm.FromFiles(files, &o)
}
