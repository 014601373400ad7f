package fakedev

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/regs/ipcu"
)

// Send and receive (7.1, 11.3, 11.5): staging, COMMIT with bytes beyond LEN
// zeroed, head window, POP, RX_PEND level, TX_PEND on pop.
func TestMailboxSendReceive(t *testing.T) {
	r := newRig(t, Config{})
	r.mailbox(2, 1, 3)
	snd, rcv := r.blk[1].MBOX[2], r.blk[3].MBOX[2]

	r.send(1, 2, 6, 0x03020100, 0xffff0504)
	assert.Equal(t, uint32(0xffff0504), snd.TXDATA[1].Read(), "staging keeps its value")
	st := snd.STATUS.Read()
	assert.Equal(t, uint32(1), ipcu.MBOX_STATUS.COUNT.Get(st))
	assert.False(t, ipcu.MBOX_STATUS.EMPTY.IsSet(st))
	assert.Equal(t, uint32(1<<31|6), rcv.RXLEN.Read())
	assert.Equal(t, uint32(0x03020100), rcv.RXDATA[0].Read())
	assert.Equal(t, uint32(0x00000504), rcv.RXDATA[1].Read(), "bytes at and above LEN read 0")
	assert.Equal(t, uint32(0x00000504), rcv.RXDATA[1].Read(), "reading has no side effect")
	assert.Equal(t, uint32(1<<2), r.blk[3].CORE[3].RX_PEND.Read())

	r.send(1, 2, 0) // a zero-length message is valid
	rcv.POP.Write(1)
	assert.Equal(t, uint32(1<<2), r.blk[1].CORE[1].TX_PEND.Read(), "a pop sets the sender's TX_PEND")
	assert.Equal(t, uint32(1<<31), rcv.RXLEN.Read(), "the empty message is next")
	assert.Zero(t, rcv.RXDATA[0].Read())
	rcv.POP.Write(1)
	assert.Zero(t, rcv.RXLEN.Read())
	assert.Zero(t, r.blk[3].CORE[3].RX_PEND.Read(), "RX_PEND is a level: clear once empty")
	r.blk[1].CORE[1].TX_PEND.Write(1 << 2)
	assert.Zero(t, r.blk[1].CORE[1].TX_PEND.Read(), "TX_PEND is W1C")

	// POP of an empty FIFO: UNF, nothing else.
	rcv.POP.Write(1)
	assert.True(t, ipcu.MBOX_STATUS.UNF.IsSet(rcv.STATUS.Read()))
	assert.Zero(t, r.blk[1].CORE[1].TX_PEND.Read())
	rcv.POP.Write(0)
	rcv.STATUS.Update(ipcu.MBOX_STATUS.UNF.Clear())
	assert.Equal(t, uint32(0x100), rcv.STATUS.Read())
}

// Overflow drops the newest message; LENERR is checked before FULL (7.1).
func TestMailboxOverflowAndLengthError(t *testing.T) {
	r := newRig(t, Config{FIFODepth: 2, MsgWords: 2})
	r.mailbox(0, 1, 2)
	snd, rcv := r.blk[1].MBOX[0], r.blk[2].MBOX[0]
	r.send(1, 0, 4, 1)
	r.send(1, 0, 4, 2)
	st := snd.STATUS.Read()
	assert.True(t, ipcu.MBOX_STATUS.FULL.IsSet(st))
	assert.Equal(t, uint32(2), ipcu.MBOX_STATUS.COUNT.Get(st))
	r.send(1, 0, 4, 3)
	assert.True(t, ipcu.MBOX_STATUS.OVF.IsSet(snd.STATUS.Read()))
	snd.COMMIT.Write(9) // > 4 x MSG_WORDS: LENERR, even though full
	st = snd.STATUS.Read()
	assert.True(t, ipcu.MBOX_STATUS.LENERR.IsSet(st))
	assert.Equal(t, uint32(2), ipcu.MBOX_STATUS.COUNT.Get(st))
	assert.Equal(t, uint32(1), rcv.RXDATA[0].Read())
	rcv.POP.Write(1)
	assert.Equal(t, uint32(2), rcv.RXDATA[0].Read())
	rcv.POP.Write(1)
	assert.Zero(t, rcv.RXLEN.Read(), "message 3 was dropped, not queued")

	// W1C of one flag leaves the other (the RMW-safe Update at work).
	snd.STATUS.Update(ipcu.MBOX_STATUS.OVF.Clear())
	st = snd.STATUS.Read()
	assert.False(t, ipcu.MBOX_STATUS.OVF.IsSet(st))
	assert.True(t, ipcu.MBOX_STATUS.LENERR.IsSet(st))
	snd.COMMIT.Write(8)
	assert.Equal(t, uint32(1<<31|8), rcv.RXLEN.Read(), "8 bytes = 4 x MSG_WORDS is the maximum")
}

// Who may touch a mailbox (4.3, 12.8): only SND stages and commits, only RCV
// reads the head and pops; core 0 sees STATUS but not the data path; a
// write-only register reads 0 for a permitted reader.
func TestMailboxPermissions(t *testing.T) {
	r := newRig(t, Config{})
	r.mailbox(4, 1, 2)
	r.send(1, 4, 4, 0x11)
	for _, tt := range []struct {
		name string
		do   func()
	}{
		{"receiver commits", func() { r.blk[2].MBOX[4].COMMIT.Write(4) }},
		{"sender pops", func() { r.blk[1].MBOX[4].POP.Write(1) }},
		{"sender reads the head", func() { r.blk[1].MBOX[4].RXDATA[0].Read() }},
		{"core 0 reads the head", func() { r.blk[0].MBOX[4].RXDATA[0].Read() }},
		{"core 0 stages", func() { r.blk[0].MBOX[4].TXDATA[0].Write(1) }},
		{"core 3 reads STATUS", func() { r.blk[3].MBOX[4].STATUS.Read() }},
		{"core 0 writes STATUS", func() { r.d.Core(0).Write32(0xa04, 1<<16) }},
	} {
		tt.do()
		_, inf, n := r.errLog()
		assert.Equal(t, CauseDenied, Cause(inf>>28), tt.name)
		assert.Equal(t, uint32(1), n, tt.name)
		r.clearLog()
	}
	assert.Equal(t, uint32(1), ipcu.MBOX_STATUS.COUNT.Get(r.blk[0].MBOX[4].STATUS.Read()), "refused accesses changed nothing")
	assert.Zero(t, r.d.Core(1).Read32(0xa08), "COMMIT reads 0 for the sender")
	_, _, n := r.errLog()
	assert.Zero(t, n)
	// A violation on an enabled mailbox is signalled to its parties too.
	r.blk[3].MBOX[4].STATUS.Read()
	for _, k := range []int{0, 1, 2} {
		assert.True(t, ipcu.CORE_IRQ_STATUS.ACCESS.IsSet(r.blk[k].CORE[k].IRQ_STATUS.Read()), "core %d", k)
	}
	assert.False(t, ipcu.CORE_IRQ_STATUS.ACCESS.IsSet(r.blk[3].CORE[3].IRQ_STATUS.Read()), "the initiator is not a party")
}

// Reconfiguration (7.2): a change of EN, SENDER or RECEIVER flushes; a write
// of the same parties does not.
func TestMailboxFlushOnReconfiguration(t *testing.T) {
	r := newRig(t, Config{})
	r.mailbox(0, 1, 2)
	r.send(1, 0, 4, 7)
	r.send(1, 0, 4, 8)
	r.blk[2].MBOX[0].POP.Write(1)
	require.Equal(t, uint32(1), r.blk[1].CORE[1].TX_PEND.Read())

	r.blk[0].MBOX[0].CFG.Write(1 | 1<<4 | 2<<8 | 1<<16) // reserved bit only
	assert.Equal(t, uint32(1), ipcu.MBOX_STATUS.COUNT.Get(r.blk[0].MBOX[0].STATUS.Read()), "same parties: no flush")
	assert.Equal(t, uint32(1|1<<4|2<<8), r.blk[0].MBOX[0].CFG.Read(), "reserved bits read 0")

	r.mailbox(0, 1, 3)
	assert.Equal(t, uint32(0x100), r.blk[0].MBOX[0].STATUS.Read(), "flushed")
	assert.Zero(t, r.blk[1].MBOX[0].TXDATA[0].Read(), "staging zeroed")
	assert.Zero(t, r.blk[1].CORE[1].TX_PEND.Read(), "the previous sender's TX_PEND bit is cleared")
	assert.Zero(t, r.blk[2].CORE[2].RX_PEND.Read())
}

// Loopback (12.7): one core may be both sender and receiver.
func TestMailboxLoopback(t *testing.T) {
	r := newRig(t, Config{})
	r.mailbox(15, 2, 2)
	r.send(2, 15, 16, 1, 2, 3, 4)
	b := r.blk[2].MBOX[15]
	assert.Equal(t, uint32(1<<31|16), b.RXLEN.Read())
	assert.Equal(t, uint32(4), b.RXDATA[3].Read())
	b.POP.Write(1)
	assert.Equal(t, uint32(1<<15), r.blk[2].CORE[2].TX_PEND.Read())
}

// Doorbells (8): SETTERS ring with W1S, the owner clears with W1C; others
// are refused; DB_SET reads 0; a core rings itself only if in SETTERS.
func TestDoorbells(t *testing.T) {
	r := newRig(t, Config{})
	r.blk[0].CORE[2].DB_ACL.Write(1 << 1)
	r.blk[1].CORE[2].DB_SET.Write(1<<5 | 1<<9)
	r.blk[1].CORE[2].DB_SET.Write(1 << 5)
	db := r.blk[2].CORE[2]
	assert.Equal(t, uint32(1<<5|1<<9), db.DB_STATUS.Read())
	assert.Zero(t, r.d.Core(2).Read32(0x524), "DB_SET reads 0 for its owner")
	db.DB_STATUS.Write(1 << 5)
	assert.Equal(t, uint32(1<<9), db.DB_STATUS.Read())

	r.blk[3].CORE[2].DB_SET.Write(1)
	r.blk[2].CORE[2].DB_SET.Write(1)
	r.blk[1].CORE[2].DB_STATUS.Write(1 << 9)
	_, _, n := r.errLog()
	assert.Equal(t, uint32(3), n, "core 3 and core 2 are not SETTERS; only core 2 clears")
	assert.Equal(t, uint32(1<<9), db.DB_STATUS.Read())
}
