package mq

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Attr keeps struct mq_attr's layout: eight C longs, of the size of a
// pointer on every Linux architecture, as <linux/mqueue.h> gives it.
func TestAttrLayout(t *testing.T) {
	want, ok := map[uintptr]struct {
		size    uintptr
		offsets [4]uintptr // mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs
	}{
		8: {64, [4]uintptr{0, 8, 16, 24}},
		4: {32, [4]uintptr{0, 4, 8, 12}},
	}[unsafe.Sizeof(uintptr(0))]
	require.True(t, ok, "a %d-byte pointer", unsafe.Sizeof(uintptr(0)))
	assert.Equal(t, want.size, unsafe.Sizeof(Attr{}), "sizeof(struct mq_attr)")
	got := [4]uintptr{
		unsafe.Offsetof(Attr{}.Flags),
		unsafe.Offsetof(Attr{}.MaxMsg),
		unsafe.Offsetof(Attr{}.MsgSize),
		unsafe.Offsetof(Attr{}.CurMsgs),
	}
	assert.Equal(t, want.offsets, got, "offsets of mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs")
}
