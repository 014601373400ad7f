package ipcu

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/ipcu/ipcu/mailbox"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// TxDone says when Send considers a message sent: the three modes of the
// Linux mailbox framework.
type TxDone uint8

const (
	// TxDoneQueued: Send returns once the message is in the mailbox FIFO.
	TxDoneQueued TxDone = iota
	// TxDoneIRQ: Send returns once the receiver has popped the message,
	// told by the TX-done interrupt (with the poll fallback).
	TxDoneIRQ
	// TxDonePoll: as TxDoneIRQ, learnt by polling the mailbox's fill
	// level every PollInterval.
	TxDonePoll
	// TxDoneAck: the client knows when the peer has consumed a message
	// (it got the reply) and says so with Channel.Ack; Send waits for the
	// previous message's Ack before sending the next.
	TxDoneAck
)

// ChannelConfig names the mailboxes of a Channel. A mailbox number of -1
// leaves that direction out.
type ChannelConfig struct {
	// TX is the mailbox this core sends on (it must be its SENDER).
	TX int
	// RX is the mailbox this core receives from (it must be its RECEIVER).
	RX int
	// TxDone is when Send returns.
	TxDone TxDone
}

// A Channel is a mailbox.Channel over one or two of the block's mailboxes.
type Channel struct {
	d    *Driver
	name string
	cfg  ChannelConfig
	// The CFG values seen at Open: a change means the mailbox was
	// reconfigured or the block reset (ErrReset).
	txCfg, rxCfg uint32

	closeOnce sync.Once
	closed    chan struct{}

	txMu    sync.Mutex
	txTimer *time.Timer
	acked   chan struct{} // TxDoneAck: a token while the last message is acknowledged
	rxMu    sync.Mutex
	rxTimer *time.Timer
}

var _ mailbox.Channel = (*Channel)(nil)

// Channel opens a channel on the mailboxes of cfg, after checking in the
// access-control registers that this core is their sender and receiver.
func (d *Driver) Channel(cfg ChannelConfig) (*Channel, error) {
	c := &Channel{d: d, cfg: cfg, closed: make(chan struct{}), acked: make(chan struct{}, 1)}
	c.name = fmt.Sprintf("ipcu core %d mailbox tx %d rx %d", d.self, cfg.TX, cfg.RX)
	fail := func(err error) (*Channel, error) {
		return nil, &mailbox.Error{Op: "open", Channel: c.name, Err: err}
	}
	if cfg.TX < -1 || cfg.TX >= regmapMailboxes || cfg.RX < -1 || cfg.RX >= regmapMailboxes || cfg.TX < 0 && cfg.RX < 0 {
		return fail(fmt.Errorf("mailboxes TX %d and RX %d: each must be -1 or 0 to 15, not both -1", cfg.TX, cfg.RX))
	}
	if cfg.TxDone > TxDoneAck {
		return fail(fmt.Errorf("TxDone mode %d", cfg.TxDone))
	}
	if cfg.TX >= 0 {
		if err := d.partyError(0, cfg.TX); err != nil {
			return fail(err)
		}
		if err := d.claim(0, cfg.TX); err != nil {
			return fail(err)
		}
		c.txCfg = d.blk.MBOX[cfg.TX].CFG.Read() &^ (1 << 31)
		c.txTimer = stoppedTimer()
		c.acked <- struct{}{}
	}
	if cfg.RX >= 0 {
		if err := d.partyError(1, cfg.RX); err != nil {
			if cfg.TX >= 0 {
				d.release(0, cfg.TX)
			}
			return fail(err)
		}
		if err := d.claim(1, cfg.RX); err != nil {
			if cfg.TX >= 0 {
				d.release(0, cfg.TX)
			}
			return fail(err)
		}
		c.rxCfg = d.blk.MBOX[cfg.RX].CFG.Read() &^ (1 << 31)
		c.rxTimer = stoppedTimer()
		d.armRX(cfg.RX)
	}
	return c, nil
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// MaxMessage returns 4 x CAPS.MSG_WORDS.
func (c *Channel) MaxMessage() int { return c.d.MaxMessage() }

// Close releases the channel's mailboxes and wakes its blocked calls with
// os.ErrClosed. It is idempotent, and safe on a nil *Channel.
func (c *Channel) Close() error {
	if c == nil {
		return nil
	}
	c.closeOnce.Do(func() {
		close(c.closed)
		c.txMu.Lock()
		if c.cfg.TX >= 0 {
			c.d.release(0, c.cfg.TX)
		}
		c.txMu.Unlock()
		c.rxMu.Lock()
		if c.cfg.RX >= 0 {
			c.d.release(1, c.cfg.RX)
		}
		c.rxMu.Unlock()
	})
	return nil
}

func (c *Channel) err(op string, err error) error {
	return &mailbox.Error{Op: op, Channel: c.name, Err: err}
}

func (c *Channel) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// check explains a mailbox that no longer works as opened: ErrReset if its
// configuration changed since Open, nil if it is as opened.
func (c *Channel) check(dir, m int, opened uint32) error {
	cfg := c.d.blk.MBOX[m].CFG.Read() &^ (1 << 31)
	if cfg != opened {
		return fmt.Errorf("mailbox %d reconfigured (CFG %#x, was %#x): %w", m, cfg, opened, mailbox.ErrReset)
	}
	return nil
}

// wait blocks until sig, the poll interval, ctx or Close. Until spinUntil
// it only yields the processor, for the busy-poll window.
func (c *Channel) wait(ctx context.Context, sig chan struct{}, t *time.Timer, spinUntil time.Time) error {
	if c.d.spin > 0 && time.Now().Before(spinUntil) {
		runtime.Gosched()
		select {
		case <-ctx.Done():
			return mailbox.CtxErr(ctx)
		case <-c.closed:
			return mailbox.ErrClosed
		default:
			return nil
		}
	}
	t.Reset(c.d.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return mailbox.CtxErr(ctx)
	case <-c.closed:
		return mailbox.ErrClosed
	case <-sig:
	case <-t.C:
	}
	return nil
}

// Send implements mailbox.Channel.
func (c *Channel) Send(ctx context.Context, msg []byte) error {
	return c.send(ctx, msg, true)
}

// TrySend implements mailbox.Channel.
func (c *Channel) TrySend(msg []byte) error {
	return c.send(context.Background(), msg, false)
}

func (c *Channel) send(ctx context.Context, msg []byte, block bool) error {
	m := c.cfg.TX
	switch {
	case m < 0:
		return c.err("send", fmt.Errorf("the channel has no TX mailbox: %w", errors.ErrUnsupported))
	case len(msg) > c.MaxMessage():
		return c.err("send", fmt.Errorf("%d bytes, the mailbox carries %d: %w", len(msg), c.MaxMessage(), mailbox.ErrTooLarge))
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	if c.isClosed() {
		return c.err("send", mailbox.ErrClosed)
	}
	mb := &c.d.blk.MBOX[m]
	sent := false
	if c.cfg.TxDone == TxDoneAck {
		defer func() {
			if !sent {
				c.giveBackAck()
			}
		}()
		select {
		case <-c.acked:
		default:
			if !block {
				return c.err("send", fmt.Errorf("the previous message is not acknowledged: %w", mailbox.ErrFull))
			}
			select {
			case <-c.acked:
			case <-ctx.Done():
				return c.err("send", mailbox.CtxErr(ctx))
			case <-c.closed:
				return c.err("send", mailbox.ErrClosed)
			}
		}
	}
	var spinUntil time.Time
	// The mailbox may have been given to another receiver since Open: a
	// message must not go to a peer the caller did not open.
	if err := c.check(0, m, c.txCfg); err != nil {
		return c.err("send", err)
	}
	for {
		st := mb.STATUS.Read()
		if st == 0 {
			// A party reads EMPTY or a count: 0 means the block refused
			// the read (docs/ipcu.md 5.4).
			if err := c.check(0, m, c.txCfg); err != nil {
				return c.err("send", err)
			}
			if err := c.d.partyError(0, m); err != nil {
				return c.err("send", err)
			}
			return c.err("send", fmt.Errorf("MBOX[%d].STATUS reads 0: %w", m, mailbox.ErrBroken))
		}
		if !regmap.MBOX_STATUS.FULL.IsSet(st) {
			break
		}
		if !block {
			return c.err("send", mailbox.ErrFull)
		}
		if err := c.check(0, m, c.txCfg); err != nil {
			return c.err("send", err)
		}
		// Arm the TX-done interrupt, then look again before sleeping.
		c.d.armTX(m)
		if !regmap.MBOX_STATUS.FULL.IsSet(mb.STATUS.Read()) {
			continue
		}
		if spinUntil.IsZero() {
			spinUntil = time.Now().Add(c.d.spin)
		}
		if err := c.wait(ctx, c.d.txSig[m], c.txTimer, spinUntil); err != nil {
			return c.err("send", err)
		}
	}
	// Stage the words, then commit (docs/ipcu.md 11.3). The sender is the
	// FIFO's only producer and STATUS said not full: no overflow.
	for w := 0; 4*w < len(msg); w++ {
		var v uint32
		for b := 0; b < 4 && 4*w+b < len(msg); b++ {
			v |= uint32(msg[4*w+b]) << (8 * b)
		}
		mb.TXDATA[w].Write(v)
	}
	mb.COMMIT.Write(uint32(len(msg)))
	sent = true
	if c.cfg.TxDone == TxDoneIRQ || c.cfg.TxDone == TxDonePoll {
		return c.waitDelivered(ctx, m, block)
	}
	return nil
}

// giveBackAck returns the TxDoneAck token when a Send gives up.
func (c *Channel) giveBackAck() {
	if c.cfg.TxDone == TxDoneAck {
		select {
		case c.acked <- struct{}{}:
		default:
		}
	}
}

// waitDelivered waits until the receiver has popped every message of
// mailbox m, so the one just committed too.
func (c *Channel) waitDelivered(ctx context.Context, m int, block bool) error {
	mb := &c.d.blk.MBOX[m]
	sig := c.d.txSig[m]
	if c.cfg.TxDone == TxDonePoll {
		sig = nil // only the poll interval wakes us
	}
	spinUntil := time.Now().Add(c.d.spin)
	for {
		st := mb.STATUS.Read()
		if regmap.MBOX_STATUS.EMPTY.IsSet(st) {
			return nil
		}
		if st == 0 {
			if err := c.check(0, m, c.txCfg); err != nil {
				return c.err("send", err)
			}
		}
		if !block {
			return nil // TrySend does not wait for TX done
		}
		if sig != nil {
			c.d.armTX(m)
			if regmap.MBOX_STATUS.EMPTY.IsSet(mb.STATUS.Read()) {
				return nil
			}
		}
		if err := c.wait(ctx, sig, c.txTimer, spinUntil); err != nil {
			return c.err("send", fmt.Errorf("waiting for TX done: %w", err))
		}
	}
}

// Ack tells a TxDoneAck channel that the peer consumed the last message, so
// the next Send may proceed.
func (c *Channel) Ack() {
	select {
	case c.acked <- struct{}{}:
	default:
	}
}

// Recv implements mailbox.Channel.
func (c *Channel) Recv(ctx context.Context, buf []byte) (int, error) {
	return c.recv(ctx, buf, true)
}

// TryRecv implements mailbox.Channel.
func (c *Channel) TryRecv(buf []byte) (int, error) {
	return c.recv(context.Background(), buf, false)
}

func (c *Channel) recv(ctx context.Context, buf []byte, block bool) (int, error) {
	m := c.cfg.RX
	if m < 0 {
		return 0, c.err("recv", fmt.Errorf("the channel has no RX mailbox: %w", errors.ErrUnsupported))
	}
	c.rxMu.Lock()
	defer c.rxMu.Unlock()
	if c.isClosed() {
		return 0, c.err("recv", mailbox.ErrClosed)
	}
	mb := &c.d.blk.MBOX[m]
	var spinUntil time.Time
	for {
		rl := mb.RXLEN.Read()
		if regmap.MBOX_RXLEN.VALID.IsSet(rl) {
			n := int(regmap.MBOX_RXLEN.LEN.Get(rl))
			switch {
			case n > c.MaxMessage():
				return 0, c.err("recv", fmt.Errorf("head message of %d bytes, more than %d: %w", n, c.MaxMessage(), mailbox.ErrBroken))
			case n > len(buf):
				return 0, c.err("recv", fmt.Errorf("a %d-byte message for a %d-byte buffer: %w", n, len(buf), mailbox.ErrShortBuffer))
			}
			for w := 0; 4*w < n; w++ {
				v := mb.RXDATA[w].Read()
				for b := 0; b < 4 && 4*w+b < n; b++ {
					buf[4*w+b] = byte(v >> (8 * b))
				}
			}
			mb.POP.Write(1)
			return n, nil
		}
		if err := c.check(1, m, c.rxCfg); err != nil {
			return 0, c.err("recv", err)
		}
		if err := c.d.partyError(1, m); err != nil {
			return 0, c.err("recv", err)
		}
		if !block {
			return 0, c.err("recv", mailbox.ErrEmpty)
		}
		// Re-arm the RX interrupt, then look again before sleeping: a
		// message that arrived in between raises the line now.
		c.d.armRX(m)
		if regmap.MBOX_RXLEN.VALID.IsSet(mb.RXLEN.Read()) {
			continue
		}
		if spinUntil.IsZero() {
			spinUntil = time.Now().Add(c.d.spin)
		}
		if err := c.wait(ctx, c.d.rxSig[m], c.rxTimer, spinUntil); err != nil {
			return 0, c.err("recv", err)
		}
	}
}
