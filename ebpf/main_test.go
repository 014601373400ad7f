package ebpf_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/mailbox"
	"github.com/ipcu/ipcu/mailbox/mailboxtest"
)

// Child modes: the test binary, re-executed by a test with childVar set,
// runs one of these instead of the tests. The pin directory is in dirVar.
const (
	childVar = "IPCU_EBPF_TEST_CHILD"
	dirVar   = "IPCU_EBPF_TEST_DIR"
	limitVar = "IPCU_EBPF_TEST_LIMIT"
)

// Exit codes of the "open" child.
const (
	exitOpened     = 0
	exitPermission = 3
)

func TestMain(m *testing.M) {
	mailboxtest.ServeRemote(attachRemote)
	if mode := os.Getenv(childVar); mode != "" {
		code, err := child(mode, os.Getenv(dirVar))
		if err != nil {
			fmt.Fprintf(os.Stderr, "child %s: %v\n", mode, err)
		}
		os.Exit(code)
	}
	leakcheck.Main(m)
}

// attachRemote opens the channel whose pin directory follows "ebpf:" in
// name, as the opener.
func attachRemote(name string, _ []*os.File) (mailbox.Channel, error) {
	dir, ok := strings.CutPrefix(name, "ebpf:")
	if !ok {
		return nil, fmt.Errorf("unknown remote %q", name)
	}
	return ebpf.Open(dir, nil)
}

func child(mode, dir string) (int, error) {
	switch mode {
	case "sender":
		return 1, childSender(dir) // until killed
	case "receiver":
		limit, _ := strconv.Atoi(os.Getenv(limitVar))
		if err := childReceiver(dir, limit); err != nil {
			return 1, err
		}
		return 0, nil
	case "probe":
		err := ebpf.Probe()
		if errors.Is(err, ebpf.ErrNotSupported) && errors.Is(err, os.ErrPermission) {
			fmt.Println(err)
			return exitPermission, nil
		}
		return 1, err
	case "open":
		c, err := ebpf.Open(dir, nil)
		if errors.Is(err, os.ErrPermission) {
			fmt.Println(err)
			return exitPermission, nil
		}
		if err != nil {
			return 1, err
		}
		defer c.Close()
		if err := c.TrySend([]byte("from uid " + strconv.Itoa(os.Getuid()))); err != nil {
			return 1, err
		}
		return exitOpened, nil
	}
	return 1, fmt.Errorf("unknown mode")
}

// seqMsg is message i: its number, then bytes derived from it.
func seqMsg(i uint64) []byte {
	b := make([]byte, 8+i%24)
	binary.LittleEndian.PutUint64(b, i)
	for j := 8; j < len(b); j++ {
		b[j] = byte(i) + byte(j)
	}
	return b
}

// seqOf checks a message made by seqMsg and returns its number.
func seqOf(b []byte) (uint64, error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("message of %d bytes", len(b))
	}
	i := binary.LittleEndian.Uint64(b)
	if want := seqMsg(i); string(want) != string(b) {
		return 0, fmt.Errorf("message %d corrupted: %x", i, b)
	}
	return i, nil
}

// childSender opens the channel and sends numbered messages until it is
// killed.
func childSender(dir string) error {
	c, err := ebpf.Open(dir, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	for i := uint64(0); ; i++ {
		if err := c.Send(context.Background(), seqMsg(i)); err != nil {
			return err
		}
	}
}

// childReceiver opens the channel and receives numbered messages, writing
// each number to stdout once it has it. After limit messages (if limit >
// 0) it waits to be killed; an empty message ends it.
func childReceiver(dir string, limit int) error {
	c, err := ebpf.Open(dir, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, c.MaxMessage())
	for got := 0; limit <= 0 || got < limit; got++ {
		n, err := c.Recv(context.Background(), buf)
		if err != nil {
			return err
		}
		if n == 0 {
			fmt.Println("end")
			return nil
		}
		i, err := seqOf(buf[:n])
		if err != nil {
			return err
		}
		fmt.Println(i)
	}
	fmt.Println("waiting")
	time.Sleep(time.Hour) // until killed
	return nil
}
