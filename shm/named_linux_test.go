package shm_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/mailbox"
	"github.com/ipcu/ipcu/mailbox/mailboxtest"
	"github.com/ipcu/ipcu/shm"
)

func init() {
	childRoles["printer"] = childPrinter
	childRoles["intruder"] = childIntruder
}

// objName returns a /dev/shm name of the test's own, and checks at the end
// of the test that the object is gone.
func objName(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("ipcu-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() {
		_, err := os.Lstat(filepath.Join("/dev/shm", name))
		assert.ErrorIs(t, err, os.ErrNotExist, "the named object outlived its channel")
		os.Remove(filepath.Join("/dev/shm", name))
	})
	return name
}

func TestNamedConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts shm.Options
	}{
		{"Sleep", shm.Options{Slots: 8, SlotSize: 64}},
		{"BusyPoll", shm.Options{Slots: 8, SlotSize: 64, BusyPoll: 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mailboxtest.Run(t, func(t *testing.T) mailboxtest.Pair {
				name := objName(t)
				a, err := shm.CreateNamed(name, &tc.opts)
				require.NoError(t, err)
				b, err := shm.OpenNamed(name, &tc.opts)
				if err != nil {
					a.Close()
					require.NoError(t, err)
				}
				return mailboxtest.Pair{A: a, B: b, Duplex: true}
			})
		})
	}
}

// The conformance suite with the opener in a child process: the two
// endpoints wake each other through futexes across processes.
func TestNamedConformanceCrossProcess(t *testing.T) {
	mailboxtest.RunOptions(t, func(t *testing.T) mailboxtest.Pair {
		name := objName(t)
		a, err := shm.CreateNamed(name, &shm.Options{Slots: 8, SlotSize: 64})
		require.NoError(t, err)
		t.Cleanup(func() { a.Close() })
		b := mailboxtest.StartRemote(t, "named="+name, nil)
		return mailboxtest.Pair{A: a, B: b, Duplex: true}
	}, mailboxtest.Options{Messages: 200})
}

func TestNamedRefusesUnsafeObjects(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("do not touch"), 0o600))
	opts := &shm.Options{Dir: dir}

	// A symbolic link planted at the name: neither end follows it.
	require.NoError(t, os.Symlink(secret, filepath.Join(dir, "planted")))
	_, err := shm.CreateNamed("planted", opts)
	assert.ErrorIs(t, err, os.ErrExist)
	_, err = shm.OpenNamed("planted", opts)
	assert.ErrorIs(t, err, shm.ErrUntrusted)
	got, err := os.ReadFile(secret)
	require.NoError(t, err)
	assert.Equal(t, "do not touch", string(got), "the link's target was changed")

	// A directory of named objects that is a symbolic link.
	require.NoError(t, os.Symlink(dir, filepath.Join(t.TempDir(), "dirlink")))
	_, err = shm.CreateNamed("x", &shm.Options{Dir: filepath.Join(filepath.Dir(dir), "nonexistent")})
	assert.Error(t, err)

	// Not a regular file.
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	_, err = shm.OpenNamed("fifo", opts)
	assert.ErrorIs(t, err, shm.ErrUntrusted)

	// Names that are not one path component.
	for _, bad := range []string{"", ".", "..", "a/b", "../etc"} {
		_, err = shm.CreateNamed(bad, opts)
		assert.Error(t, err, "%q", bad)
		_, err = shm.OpenNamed(bad, opts)
		assert.Error(t, err, "%q", bad)
	}
	_, err = os.Lstat(filepath.Join(dir, "x"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestNamedModeAndOwner(t *testing.T) {
	dir := t.TempDir()
	a, err := shm.CreateNamed("wide", &shm.Options{Dir: dir, Mode: 0o640})
	require.NoError(t, err)
	defer a.Close()
	st, err := os.Stat(filepath.Join(dir, "wide"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "the mode, whatever the umask")

	_, err = shm.OpenNamed("wide", &shm.Options{Dir: dir})
	assert.ErrorIs(t, err, shm.ErrUntrusted, "group-readable object")
	b, err := shm.OpenNamed("wide", &shm.Options{Dir: dir, AllowOthers: true})
	require.NoError(t, err)
	defer b.Close()

	c, err := shm.CreateNamed("private", &shm.Options{Dir: dir})
	require.NoError(t, err)
	defer c.Close()
	st, err = os.Stat(filepath.Join(dir, "private"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	if os.Geteuid() == 0 { // another owner, which only root can arrange
		require.NoError(t, os.Chown(filepath.Join(dir, "private"), 65534, 65534))
		_, err = shm.OpenNamed("private", &shm.Options{Dir: dir})
		assert.ErrorIs(t, err, shm.ErrUntrusted, "object of another user")
	}
}

// A process of another uid can open neither a named channel made 0600 nor
// a memfd channel's memory through /proc: only what it is given.
func TestOtherUIDRefused(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireSelfExec(t)
	name := objName(t)
	a, err := shm.CreateNamed(name, nil)
	require.NoError(t, err)
	defer a.Close()
	m, err := shm.Create(nil)
	require.NoError(t, err)
	defer m.Close()
	files, err := m.Files()
	require.NoError(t, err)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	// The memfd as another process would find it.
	memfdPath := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), files[0].Fd())

	// The test binary sits in a directory only root may search: the
	// intruder runs a copy.
	bin := filepath.Join(t.TempDir(), "intruder")
	exe, err := os.ReadFile(os.Args[0])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, exe, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(bin), 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(filepath.Dir(bin)), 0o755))
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(testenv.ChildEnv(), childVar+"=intruder", "IPCU_SHM_NAME="+name, "IPCU_SHM_MEMFD="+memfdPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "intruder: %s", out)
	assert.Equal(t, "named: permission denied\nmemfd: permission denied\n", string(out))

	// Root itself, as the same check, gets in through the name.
	b, err := shm.OpenNamed(name, nil)
	require.NoError(t, err)
	b.Close()
}

// childIntruder tries, as another uid, to open the channels named in its
// environment, and prints what happened.
func childIntruder() error {
	report := func(what string, err error) {
		switch {
		case errors.Is(err, os.ErrPermission):
			fmt.Printf("%s: permission denied\n", what)
		case err != nil:
			fmt.Printf("%s: %v\n", what, err)
		default:
			fmt.Printf("%s: opened\n", what)
		}
	}
	c, err := shm.OpenNamed(os.Getenv("IPCU_SHM_NAME"), nil)
	if err == nil {
		c.Close()
	}
	report("named", err)
	f, err := os.OpenFile(os.Getenv("IPCU_SHM_MEMFD"), os.O_RDWR, 0)
	if err == nil {
		f.Close()
	}
	report("memfd", err)
	return nil
}

func TestPeerClosed(t *testing.T) {
	for _, kind := range []string{"memfd", "named"} {
		t.Run(kind, func(t *testing.T) {
			var a, b *shm.Channel
			var err error
			if kind == "memfd" {
				a, b, err = shm.NewPair(&shm.Options{Slots: 4, SlotSize: 64})
				require.NoError(t, err)
			} else {
				name := objName(t)
				a, err = shm.CreateNamed(name, &shm.Options{Slots: 4, SlotSize: 64})
				require.NoError(t, err)
				b, err = shm.OpenNamed(name, nil)
				require.NoError(t, err)
			}
			defer b.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			// A Recv asleep in b wakes when a closes, after the messages.
			got := make(chan error, 1)
			go func() {
				buf := make([]byte, 64)
				for i := 0; ; i++ {
					n, err := b.Recv(ctx, buf)
					if err != nil {
						got <- fmt.Errorf("after %d messages: %w", i, err)
						return
					}
					if n != 1 || buf[0] != byte(i) {
						got <- fmt.Errorf("message %d is %x", i, buf[:n])
						return
					}
				}
			}()
			for i := range 3 {
				require.NoError(t, a.Send(ctx, []byte{byte(i)}))
			}
			require.NoError(t, a.Close())
			err = <-got
			assert.ErrorIs(t, err, shm.ErrPeerClosed)
			assert.Contains(t, err.Error(), "after 3 messages")
			assert.ErrorIs(t, b.Send(ctx, []byte{1}), shm.ErrPeerClosed)
			assert.ErrorIs(t, b.TrySend([]byte{1}), shm.ErrPeerClosed)
		})
	}
}

func TestAttachOnce(t *testing.T) {
	a, err := shm.Create(nil)
	require.NoError(t, err)
	defer a.Close()
	files, err := a.Files()
	require.NoError(t, err)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	b, err := shm.FromFiles(files, nil)
	require.NoError(t, err)
	defer b.Close()
	_, err = shm.FromFiles(files, nil)
	assert.ErrorIs(t, err, shm.ErrInUse)

	name := objName(t)
	c, err := shm.CreateNamed(name, nil)
	require.NoError(t, err)
	defer c.Close()
	d, err := shm.OpenNamed(name, nil)
	require.NoError(t, err)
	defer d.Close()
	_, err = shm.OpenNamed(name, nil)
	assert.ErrorIs(t, err, shm.ErrInUse)
	_, err = c.Files()
	assert.Error(t, err, "a named channel has no files to hand over")
}

// An attacher refuses a channel bigger than its limits.
func TestAttachLimits(t *testing.T) {
	a, err := shm.Create(&shm.Options{Slots: 64, SlotSize: 1024})
	require.NoError(t, err)
	defer a.Close()
	files, err := a.Files()
	require.NoError(t, err)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, tc := range []struct {
		limits shm.Limits
		what   string
	}{
		{shm.Limits{MaxSlots: 32}, "queue depth 64, at most 32"},
		{shm.Limits{MaxMessage: 512}, "message size 1008, at most 512"},
		{shm.Limits{MaxMemory: 64 << 10}, "memory 143360, at most 65536"},
	} {
		_, err := shm.FromFiles(files, &shm.Options{Limits: tc.limits})
		var le *mailbox.LimitError
		if assert.ErrorAs(t, err, &le, "%+v", tc.limits) {
			assert.Contains(t, err.Error(), tc.what)
		}
		assert.ErrorIs(t, err, mailbox.ErrLimit)
	}
	b, err := shm.FromFiles(files, &shm.Options{Limits: shm.Limits{MaxSlots: 64, MaxMessage: 1008, MaxMemory: 143360}})
	require.NoError(t, err, "exactly at the limits")
	b.Close()
}

// A peer flooding its channel hits its queue-depth limit and gets the
// typed error, while a second channel between two other endpoints
// delivers every message meanwhile.
func TestFloodingPeer(t *testing.T) {
	flood, floodRx, err := shm.NewPair(&shm.Options{Slots: 16, SlotSize: 64})
	require.NoError(t, err)
	defer flood.Close()
	defer floodRx.Close()
	tx, rx, err := shm.NewPair(&shm.Options{Slots: 16, SlotSize: 64})
	require.NoError(t, err)
	defer tx.Close()
	defer rx.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var limited, accepted int
	var floodErr error
	wg.Add(1)
	go func() { // floods, with a slow receiver draining one message in 100
		defer wg.Done()
		msg := make([]byte, 48)
		buf := make([]byte, 64)
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := flood.TrySend(msg)
			switch {
			case err == nil:
				accepted++
			case errors.Is(err, mailbox.ErrLimit) && errors.Is(err, mailbox.ErrFull):
				if limited++; limited%100 == 0 {
					floodRx.TryRecv(buf)
				}
			default:
				floodErr = err
				return
			}
		}
	}()
	const n = 5000
	go func() {
		for i := range n {
			if err := tx.Send(ctx, []byte(strconv.Itoa(i))); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64)
	for i := range n {
		m, err := rx.Recv(ctx, buf)
		require.NoError(t, err, "message %d of the second channel", i)
		require.Equal(t, strconv.Itoa(i), string(buf[:m]))
	}
	close(stop)
	wg.Wait()
	require.NoError(t, floodErr)
	assert.Positive(t, limited, "the flooder never hit its limit")
	assert.LessOrEqual(t, accepted, 16+limited/100, "the flooder queued more than its depth and what was drained")
	var le *mailbox.LimitError
	err = flood.TrySend(make([]byte, 8))
	if assert.ErrorAs(t, err, &le) {
		assert.Equal(t, "queue depth", le.Limit)
		assert.EqualValues(t, 16, le.Max)
	}
}

// Killing the receiver mid-stream: the sender stops with ErrPeerExited
// and Pending says how many messages were never received; every other
// message was received once, in order (the receiver prints each one).
func TestReceiverKilled(t *testing.T) {
	testenv.RequireSelfExec(t)
	c, err := shm.Create(&shm.Options{Slots: 16, SlotSize: 64})
	require.NoError(t, err)
	defer c.Close()
	files, err := c.Files()
	require.NoError(t, err)
	cmd := testenv.SelfCommand("-test.run=^$")
	cmd.Env = append(cmd.Env, childVar+"=printer")
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	err = cmd.Start()
	for _, f := range files {
		f.Close()
	}
	require.NoError(t, err)
	require.NoError(t, c.WatchProcess(cmd.Process))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	printed := make(chan int, 1)
	go func() { // reads what the child received, checking the order
		sc := bufio.NewScanner(out)
		k := 0
		for sc.Scan() {
			if sc.Text() != strconv.Itoa(k) {
				break
			}
			k++
		}
		printed <- k
	}()
	sent := 0
	for ; ; sent++ {
		if sent == 500 {
			require.NoError(t, cmd.Process.Kill())
		}
		if err = c.Send(ctx, seq(sent)); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, shm.ErrPeerExited)
	k := <-printed
	_ = cmd.Wait()
	received := sent - c.Pending()
	t.Logf("sent %d, never received %d, printed %d", sent, c.Pending(), k)
	assert.GreaterOrEqual(t, sent, 500)
	// The child may have been killed between receiving and printing.
	assert.True(t, k == received || k == received-1, "printed %d, received %d", k, received)
}

// childPrinter receives from the channel whose descriptors are 3, 4 and 5
// and prints the sequence number of each message, until killed.
func childPrinter() error {
	files := []*os.File{os.NewFile(3, "memfd"), os.NewFile(4, "wake0"), os.NewFile(5, "wake1")}
	c, err := shm.FromFiles(files, nil)
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, c.MaxMessage())
	for {
		n, err := c.Recv(context.Background(), buf)
		if err != nil {
			return err
		}
		if n < 8 {
			return fmt.Errorf("short message")
		}
		fmt.Println(binary.LittleEndian.Uint64(buf)) // unbuffered: one write each
	}
}
