package ebpf_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/mailbox"
)

// childCmd returns the test binary, re-executed in a child mode on the
// channel in dir.
func childCmd(mode, dir string, env ...string) *exec.Cmd {
	cmd := testenv.SelfCommand("-test.run=^$")
	cmd.Env = append(cmd.Env, childVar+"="+mode, dirVar+"="+dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// A sender killed mid-stream: the receiver gets every message the sender
// queued, numbered 0 to k-1 without gaps or duplicates, and then an error
// wrapping ErrPeerExited and mailbox.ErrBroken instead of waiting.
func TestSenderKilled(t *testing.T) {
	for _, tc := range flavours {
		if tc.opts.BusyPoll != 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(bpffs(t), "ch")
			c, err := ebpf.Create(dir, &tc.opts)
			require.NoError(t, err)
			defer c.Close()
			cmd := childCmd("sender", dir)
			require.NoError(t, cmd.Start())
			require.NoError(t, c.WatchProcess(cmd.Process))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			buf := make([]byte, c.MaxMessage())
			var got uint64
			for ; ; got++ {
				if got == 200 {
					// Give the sender time to fill the channel, so that
					// messages are left when it dies (pacing only).
					time.Sleep(50 * time.Millisecond)
					require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				}
				n, err := c.Recv(ctx, buf)
				if err != nil {
					require.ErrorIs(t, err, ebpf.ErrPeerExited, "after %d messages", got)
					require.ErrorIs(t, err, mailbox.ErrBroken)
					break
				}
				i, err := seqOf(buf[:n])
				require.NoError(t, err)
				require.Equal(t, got, i, "message %d out of order, lost or duplicated", got)
			}
			assert.GreaterOrEqual(t, got, uint64(200))
			t.Logf("received %d messages before the killed sender's channel ran dry", got)
			var ee *exec.ExitError
			require.ErrorAs(t, cmd.Wait(), &ee)
			// What was left is left: the watched channel now says so at once.
			_, err = c.TryRecv(buf)
			assert.ErrorIs(t, err, ebpf.ErrPeerExited)
		})
	}
}

// readNumbers reads the numbers a receiver child prints, one a line, until
// a line that is not a number, which it returns.
func readNumbers(t *testing.T, r *bufio.Scanner, into map[uint64]int, order *[]uint64) string {
	t.Helper()
	for r.Scan() {
		i, err := strconv.ParseUint(r.Text(), 10, 64)
		if err != nil {
			return r.Text()
		}
		into[i]++
		*order = append(*order, i)
	}
	return ""
}

// A receiver killed after it consumed some messages, while the sender goes
// on: a new receiver (Open again) gets every message the first did not
// consume, none twice, in order.
func TestReceiverKilledAndRestarted(t *testing.T) {
	for _, tc := range flavours {
		if tc.opts.BusyPoll != 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(bpffs(t), "ch")
			c, err := ebpf.Create(dir, &tc.opts)
			require.NoError(t, err)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			const total = 500
			sent := make(chan error, 1)
			go func() {
				for i := uint64(0); i < total; i++ {
					if err := c.Send(ctx, seqMsg(i)); err != nil {
						sent <- err
						return
					}
				}
				sent <- c.Send(ctx, nil) // the end
			}()

			seen := map[uint64]int{}
			var order []uint64
			first := childCmd("receiver", dir, limitVar+"=100")
			out, err := first.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, first.Start())
			last := readNumbers(t, bufio.NewScanner(out), seen, &order)
			require.Equal(t, "waiting", last, "the first receiver stopped early")
			require.NoError(t, first.Process.Signal(syscall.SIGKILL))
			_, _ = io.Copy(io.Discard, out)
			var ee *exec.ExitError
			require.ErrorAs(t, first.Wait(), &ee)
			require.Len(t, order, 100)

			second := childCmd("receiver", dir)
			out, err = second.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, second.Start())
			last = readNumbers(t, bufio.NewScanner(out), seen, &order)
			require.NoError(t, second.Wait())
			require.Equal(t, "end", last)
			require.NoError(t, <-sent)

			require.Len(t, order, total, "every message received once")
			for i, v := range order {
				require.Equal(t, uint64(i), v, "message %d", i)
			}
			_, err = c.TryRecv(make([]byte, c.MaxMessage()))
			assert.ErrorIs(t, err, mailbox.ErrEmpty)
		})
	}
}

// Messages outlive every process with Persist: a channel closed by its
// creator keeps its pins and messages; reopened as the creator, it
// removes them on Close.
func TestPersist(t *testing.T) {
	for _, tc := range flavours {
		if tc.opts.BusyPoll != 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(bpffs(t), "ch")
			o := tc.opts
			o.Persist = true
			a, err := ebpf.Create(dir, &o)
			require.NoError(t, err)
			require.NoError(t, a.TrySend([]byte("kept")))
			require.NoError(t, a.Close())
			_, err = os.Stat(dir)
			require.NoError(t, err, "the pins stay")

			b, err := ebpf.Open(dir, nil)
			require.NoError(t, err)
			buf := make([]byte, b.MaxMessage())
			n, err := b.TryRecv(buf)
			require.NoError(t, err)
			assert.Equal(t, "kept", string(buf[:n]))
			require.NoError(t, b.TrySend([]byte("reply")))
			require.NoError(t, b.Close())
			_, err = os.Stat(dir)
			require.NoError(t, err, "the opener never removes the pins")

			a, err = ebpf.Open(dir, &ebpf.Options{Side: ebpf.Creator})
			require.NoError(t, err)
			n, err = a.TryRecv(buf)
			require.NoError(t, err)
			assert.Equal(t, "reply", string(buf[:n]))
			require.NoError(t, a.Close())
			_, err = os.Stat(dir)
			assert.ErrorIs(t, err, os.ErrNotExist, "the creator removed the pins")
		})
	}
}

// Close removes the pins and the directory unless Persist.
func TestNoPinsAfterClose(t *testing.T) {
	for _, tc := range flavours {
		t.Run(tc.name, func(t *testing.T) {
			root := bpffs(t)
			dir := filepath.Join(root, "ch")
			a, err := ebpf.Create(dir, &tc.opts)
			require.NoError(t, err)
			b, err := ebpf.Open(dir, nil)
			require.NoError(t, err)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 2)
			require.NoError(t, b.Close())
			require.NoError(t, a.Close())
			require.NoError(t, a.Close(), "Close is idempotent")
			_, err = os.Stat(dir)
			assert.ErrorIs(t, err, os.ErrNotExist)
			// bpffs's own cleanup check lists anything else left.
		})
	}
}

func TestCloseNil(t *testing.T) {
	var c *ebpf.Channel
	assert.NoError(t, c.Close())
}

// A flooding sender fills its own channel up to its depth and gets
// ErrFull, with a LimitError saying the depth, while another channel in
// the same bpffs delivers all its messages.
func TestFloodIsolated(t *testing.T) {
	for _, tc := range flavours {
		if tc.opts.BusyPoll != 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			root := bpffs(t)
			flood, err := ebpf.Create(filepath.Join(root, "flood"), &tc.opts)
			require.NoError(t, err)
			defer flood.Close()
			a, err := ebpf.Create(filepath.Join(root, "quiet"), &tc.opts)
			require.NoError(t, err)
			defer a.Close()
			b, err := ebpf.Open(filepath.Join(root, "quiet"), nil)
			require.NoError(t, err)
			defer b.Close()

			stop := make(chan struct{})
			type result struct {
				sent, full int
				err        error
			}
			res := make(chan result, 1)
			go func() {
				var r result
				msg := make([]byte, flood.MaxMessage())
				for {
					select {
					case <-stop:
						res <- r
						return
					default:
					}
					err := flood.TrySend(msg)
					switch {
					case err == nil:
						r.sent++
					case errors.Is(err, mailbox.ErrFull):
						r.full++
						r.err = err
					default:
						r.err = err
						res <- r
						return
					}
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			const n = 2000
			errc := make(chan error, 1)
			go func() {
				for i := uint64(0); i < n; i++ {
					if err := a.Send(ctx, seqMsg(i)); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			buf := make([]byte, b.MaxMessage())
			delivered := 0
			for i := uint64(0); i < n; i++ {
				m, err := b.Recv(ctx, buf)
				require.NoError(t, err)
				got, err := seqOf(buf[:m])
				require.NoError(t, err)
				require.Equal(t, i, got)
				delivered++
			}
			require.NoError(t, <-errc)
			close(stop)
			r := <-res
			assert.Equal(t, n, delivered)
			assert.Equal(t, tc.opts.Depth, r.sent, "the flooder queued exactly its depth")
			require.Positive(t, r.full)
			require.ErrorIs(t, r.err, mailbox.ErrFull)
			require.ErrorIs(t, r.err, mailbox.ErrLimit)
			var le *mailbox.LimitError
			require.ErrorAs(t, r.err, &le)
			assert.Equal(t, int64(tc.opts.Depth), le.Max)
			t.Logf("the flooder hit its limit %d times while the other channel delivered %d messages", r.full, delivered)
		})
	}
}
