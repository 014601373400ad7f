package ebpf_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/mailbox"
	"github.com/ipcu/ipcu/shm"
)

const benchMsg = 64

// pingPong measures round trips of 64-byte messages between two
// goroutines: the benchmark's sends on a and waits for the echo, the
// other echoes what b receives.
func pingPong(b *testing.B, a, peer mailbox.Channel) {
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, peer.MaxMessage())
		for {
			n, err := peer.Recv(ctx, buf)
			if err != nil {
				done <- err
				return
			}
			if n == 0 {
				done <- nil
				return
			}
			if err := peer.Send(ctx, buf[:n]); err != nil {
				done <- err
				return
			}
		}
	}()
	msg := make([]byte, benchMsg)
	buf := make([]byte, a.MaxMessage())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := a.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := a.Recv(ctx, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	require.NoError(b, a.Send(ctx, nil))
	require.NoError(b, <-done)
}

// BenchmarkRoundTrip compares the two flavours with the shared-memory
// channel (package shm) and a POSIX message queue, each sleeping at once
// when idle (Sleep) or busy-polling first (BusyPoll).
func BenchmarkRoundTrip(b *testing.B) {
	for _, poll := range []struct {
		name string
		n    int
	}{{"Sleep", 0}, {"BusyPoll", 10000}} {
		for _, fl := range []ebpf.Flavour{ebpf.Queue, ebpf.MmapArray} {
			b.Run(fl.String()+"/"+poll.name, func(b *testing.B) {
				dir := filepath.Join(bpffs(b), "ch")
				o := &ebpf.Options{Flavour: fl, Depth: 64, MaxMessage: 128, BusyPoll: poll.n}
				a, err := ebpf.Create(dir, o)
				require.NoError(b, err)
				defer a.Close()
				peer, err := ebpf.Open(dir, o)
				require.NoError(b, err)
				defer peer.Close()
				pingPong(b, a, peer)
			})
		}
		b.Run("shm/"+poll.name, func(b *testing.B) {
			a, peer, err := shm.NewPair(&shm.Options{Slots: 64, SlotSize: 128 + 16, BusyPoll: poll.n})
			require.NoError(b, err)
			defer a.Close()
			defer peer.Close()
			pingPong(b, a, peer)
		})
	}
	b.Run("posix-mq", func(b *testing.B) {
		ab, err := mqOpen("ab", 10, 128)
		require.NoError(b, err)
		defer ab.close()
		ba, err := mqOpen("ba", 10, 128)
		require.NoError(b, err)
		defer ba.close()
		done := make(chan error, 1)
		go func() {
			buf := make([]byte, 128)
			for {
				n, err := ab.recv(buf)
				if err != nil || n == 0 {
					done <- err
					return
				}
				if err := ba.send(buf[:n]); err != nil {
					done <- err
					return
				}
			}
		}()
		msg := make([]byte, benchMsg)
		buf := make([]byte, 128)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := ab.send(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := ba.recv(buf); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		require.NoError(b, ab.send(nil))
		require.NoError(b, <-done)
	})
}
