package ebpf_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/ebpf"
	"github.com/ipcu/ipcu/mailbox/mailboxtest"
)

var flavours = []struct {
	name string
	opts ebpf.Options
}{
	{"Queue", ebpf.Options{Flavour: ebpf.Queue, Depth: 8, MaxMessage: 48}},
	{"QueueBusyPoll", ebpf.Options{Flavour: ebpf.Queue, Depth: 8, MaxMessage: 48, BusyPoll: 100}},
	{"MmapArray", ebpf.Options{Flavour: ebpf.MmapArray, Depth: 8, MaxMessage: 48}},
	{"MmapArrayBusyPoll", ebpf.Options{Flavour: ebpf.MmapArray, Depth: 8, MaxMessage: 48, BusyPoll: 100}},
}

func TestConformance(t *testing.T) {
	for _, tc := range flavours {
		t.Run(tc.name, func(t *testing.T) {
			mailboxtest.Run(t, func(t *testing.T) mailboxtest.Pair {
				a, b := pair(t, &tc.opts)
				return mailboxtest.Pair{A: a, B: b, Duplex: true}
			})
		})
	}
}

// The suite across two processes: the child opens the pins by path.
func TestConformanceRemote(t *testing.T) {
	for _, tc := range flavours {
		if tc.opts.BusyPoll != 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			mailboxtest.RunOptions(t, func(t *testing.T) mailboxtest.Pair {
				dir := filepath.Join(bpffs(t), "ch")
				a, err := ebpf.Create(dir, &tc.opts)
				require.NoError(t, err)
				t.Cleanup(func() { a.Close() })
				b := mailboxtest.StartRemote(t, "ebpf:"+dir, nil)
				return mailboxtest.Pair{A: a, B: b, Duplex: true}
			}, mailboxtest.Options{Messages: 200})
		})
	}
}

func TestShape(t *testing.T) {
	for _, tc := range flavours {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pair(t, &tc.opts)
			for _, c := range []*ebpf.Channel{a, b} {
				assert.Equal(t, tc.opts.MaxMessage, c.MaxMessage())
				assert.Equal(t, tc.opts.Depth, c.Depth())
				assert.Equal(t, tc.opts.Flavour, c.Flavour())
			}
		})
	}
}
