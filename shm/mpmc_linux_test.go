package shm_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/mailbox/mailboxtest"
	"github.com/ipcu/ipcu/shm"
)

func TestMPMCConformance(t *testing.T) {
	opts := shm.Options{Slots: 8, SlotSize: 64, MPMC: true}
	t.Run("memfd", func(t *testing.T) {
		mailboxtest.Run(t, func(t *testing.T) mailboxtest.Pair {
			a, b, err := shm.NewPair(&opts)
			require.NoError(t, err)
			return mailboxtest.Pair{A: a, B: b, Duplex: true}
		})
	})
	t.Run("named", func(t *testing.T) {
		mailboxtest.Run(t, func(t *testing.T) mailboxtest.Pair {
			name := objName(t)
			a, err := shm.CreateNamed(name, &opts)
			require.NoError(t, err)
			b, err := shm.OpenNamed(name, nil)
			if err != nil {
				a.Close()
				require.NoError(t, err)
			}
			return mailboxtest.Pair{A: a, B: b, Duplex: true}
		})
	})
	t.Run("named-cross-process", func(t *testing.T) {
		mailboxtest.RunOptions(t, func(t *testing.T) mailboxtest.Pair {
			name := objName(t)
			a, err := shm.CreateNamed(name, &opts)
			require.NoError(t, err)
			t.Cleanup(func() { a.Close() })
			return mailboxtest.Pair{A: a, B: mailboxtest.StartRemote(t, "named="+name, nil), Duplex: true}
		}, mailboxtest.Options{Messages: 200})
	})
}

// A named MPMC channel is a work queue: several openers share what the
// creator sends, each message going to exactly one of them, and the
// creator learns the channel is finished when the last opener closes.
func TestMPMCOpeners(t *testing.T) {
	name := objName(t)
	a, err := shm.CreateNamed(name, &shm.Options{Slots: 16, SlotSize: 64, MPMC: true})
	require.NoError(t, err)
	defer a.Close()
	const openers, n = 3, 3000
	workers := make([]*shm.Channel, openers)
	for i := range workers {
		workers[i], err = shm.OpenNamed(name, &shm.Options{BusyPoll: 50})
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var mu sync.Mutex
	seen := make(map[uint64]int)
	per := make([]int, openers)
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for {
				m, err := w.Recv(ctx, buf)
				if err != nil {
					assert.ErrorIs(t, err, shm.ErrPeerClosed, "worker %d", i)
					return
				}
				mu.Lock()
				seen[binary.LittleEndian.Uint64(buf[:m])]++
				per[i]++
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		require.NoError(t, a.Send(ctx, binary.LittleEndian.AppendUint64(nil, uint64(i))))
	}
	require.NoError(t, a.Close())
	wg.Wait()
	assert.Len(t, seen, n, "every message received")
	for k, c := range seen {
		if c != 1 {
			t.Errorf("message %d received %d times", k, c)
		}
	}
	t.Logf("messages per opener: %v", per)

	// The creator's view: the openers close one by one; only after the
	// last does its Send fail with ErrPeerClosed.
	b, err := shm.CreateNamed(name+"-2", &shm.Options{MPMC: true})
	require.NoError(t, err)
	defer b.Close()
	t.Cleanup(func() { require.NoFileExists(t, "/dev/shm/"+name+"-2") })
	o1, err := shm.OpenNamed(name+"-2", nil)
	require.NoError(t, err)
	o2, err := shm.OpenNamed(name+"-2", nil)
	require.NoError(t, err)
	require.NoError(t, o1.Close())
	require.NoError(t, b.TrySend([]byte("still one opener")))
	require.NoError(t, o2.Close())
	assert.ErrorIs(t, b.TrySend([]byte("nobody")), shm.ErrPeerClosed)
	_, err = shm.OpenNamed(name+"-2", nil)
	assert.ErrorIs(t, err, shm.ErrInUse, "a finished channel takes no new opener")
	for _, w := range workers {
		w.Close()
	}
}
