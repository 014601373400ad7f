package ipcctl

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode"

	"github.com/ipcu/ipcu/irq"
	mbipcu "github.com/ipcu/ipcu/mailbox/ipcu"
)

// jsonMbox is the -json document of mbox send, recv and ping.
type jsonMbox struct {
	header
	Device  string `json:"device"`
	Core    int    `json:"core"`
	Mailbox int    `json:"mailbox"`
	// Reply is the mailbox of the replies (ping).
	Reply *int `json:"reply,omitempty"`
	// Messages are the messages sent (send) or received (recv), in hex.
	Messages []string `json:"messages,omitempty"`
	// Peer is, on fake, what the in-process peer core did.
	Peer string `json:"peer,omitempty"`
	// RTT are the round trips of ping, in nanoseconds.
	RTT *latency `json:"rtt_ns,omitempty"`
}

// mboxFlags are the flags of every mbox command.
type mboxFlags struct {
	*devFlags
	peer    int
	timeout time.Duration
	hexMsg  bool
}

func (f *flags) mboxFlags() *mboxFlags {
	m := &mboxFlags{devFlags: f.devFlags()}
	f.IntVar(&m.peer, "peer", 2, "on fake, the peer `core` the tool runs in process (the tool is -core, 1 unless given)")
	f.DurationVar(&m.timeout, "timeout", 5*time.Second, "give up after this long")
	f.BoolVar(&m.hexMsg, "hex", false, "messages are hexadecimal bytes")
	return m
}

// mboxBed is the driver of the tool's core and, on fake, the management
// core and the peer's driver.
type mboxBed struct {
	d     *device
	drv   *mbipcu.Driver
	adm   *mbipcu.Driver // fake only
	peer  *mbipcu.Driver // fake only
	lines []irq.Source
}

func (b *mboxBed) close() {
	for _, drv := range []*mbipcu.Driver{b.peer, b.drv, b.adm} {
		if drv != nil {
			drv.Close()
		}
	}
	for _, l := range b.lines {
		l.Close()
	}
	b.d.Close()
}

// openMbox opens the device and the mailbox drivers. On fake, mailboxes
// maps each mailbox to its sender and receiver, configured by the
// management core.
func openMbox(name string, mf *mboxFlags, mailboxes map[int][2]int) (*mboxBed, error) {
	d, err := openDevice(name, mf.devFlags)
	if err != nil {
		return nil, err
	}
	b := &mboxBed{d: d}
	if d.Map != "ipcu" {
		b.close()
		return nil, fmt.Errorf("%s: mbox drives the reference block's mailboxes, not map %s", d.Name, d.Map)
	}
	if d.Fake == nil {
		line, err := d.IRQ()
		if err == nil {
			b.drv, err = mbipcu.Open(mbipcu.Config{Bus: d.Bus, Base: d.Base, IRQ: line})
		}
		if err != nil {
			b.close()
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		return b, nil
	}
	cores := d.Fake.Config().Cores
	if mf.peer < 0 || mf.peer >= cores || mf.peer == mf.core {
		b.close()
		return nil, &cliError{code: ExitUsage, err: fmt.Errorf("fake: -peer %d: another core than -core %d, 0 to %d", mf.peer, mf.core, cores-1)}
	}
	open := func(k int) (*mbipcu.Driver, error) {
		line, err := irq.FromEventfd(d.Fake.Core(k).EventFD(), false)
		if err != nil {
			return nil, err
		}
		b.lines = append(b.lines, line)
		return mbipcu.Open(mbipcu.Config{Bus: d.Fake.Core(k), IRQ: line})
	}
	if b.adm, err = mbipcu.Open(mbipcu.Config{Bus: d.Fake.Core(0)}); err == nil {
		err = b.adm.Enable()
	}
	for m, sr := range mailboxes {
		if err == nil {
			err = b.adm.ConfigureMailbox(m, sr[0], sr[1])
		}
	}
	if err == nil {
		b.drv, err = open(mf.core)
	}
	if err == nil {
		b.peer, err = open(mf.peer)
	}
	if err != nil {
		b.close()
		return nil, fmt.Errorf("fake: %w", err)
	}
	return b, nil
}

// mailboxArg parses a mailbox number.
func mailboxArg(f *flags, s string) (int, error) {
	m, err := strconv.Atoi(s)
	if err != nil || m < 0 || m > 15 {
		return 0, usageError(f.usage, "%q is not a mailbox number (0 to 15)", s)
	}
	return m, nil
}

// showMessage prints a message as hex and, when it is text, as text.
func showMessage(p []byte) string {
	s := hex.EncodeToString(p)
	text := true
	for _, r := range string(p) {
		if !unicode.IsPrint(r) {
			text = false
		}
	}
	if text && len(p) > 0 {
		s += fmt.Sprintf(" %q", p)
	}
	return s
}

const mboxSendHelp = `Sends MESSAGE (text, or hex bytes with -hex) on mailbox MBOX, whose sender
this core must be. On fake the tool configures the mailbox from -core to
-peer and runs the peer in process, which receives the message and says so.`

func cmdMboxSend(ctx context.Context, args []string, env *Env) error {
	f := newFlags(env, "mbox send", "mbox send [flags] DEVICE MBOX MESSAGE", mboxSendHelp)
	mf := f.mboxFlags()
	pos, err := f.parse(args, 3, 3)
	if err != nil {
		return err
	}
	if !f.isSet("core") {
		mf.core = 1
	}
	m, err := mailboxArg(f, pos[1])
	if err != nil {
		return err
	}
	msg := []byte(pos[2])
	if mf.hexMsg {
		if msg, err = hex.DecodeString(pos[2]); err != nil {
			return usageError(f.usage, "-hex: %v", err)
		}
	}
	b, err := openMbox(pos[0], mf, map[int][2]int{m: {mf.core, mf.peer}})
	if err != nil {
		return err
	}
	defer b.close()
	ch, err := b.drv.Channel(mbipcu.ChannelConfig{TX: m, RX: -1})
	if err != nil {
		return fmt.Errorf("%s: mailbox %d: %w", b.d.Name, m, err)
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(ctx, mf.timeout)
	defer cancel()
	if err := ch.Send(ctx, msg); err != nil {
		return fmt.Errorf("%s: mailbox %d: %w", b.d.Name, m, err)
	}
	doc := jsonMbox{header: newHeader("mbox send"), Device: b.d.Name.String(), Core: b.drv.Core(), Mailbox: m, Messages: []string{hex.EncodeToString(msg)}}
	if b.peer != nil {
		pch, err := b.peer.Channel(mbipcu.ChannelConfig{TX: -1, RX: m})
		if err != nil {
			return fmt.Errorf("fake: peer: %w", err)
		}
		defer pch.Close()
		buf := make([]byte, pch.MaxMessage())
		n, err := pch.Recv(ctx, buf)
		if err != nil {
			return fmt.Errorf("fake: peer core %d: %w", mf.peer, err)
		}
		doc.Peer = fmt.Sprintf("core %d received %s", mf.peer, showMessage(buf[:n]))
	}
	if f.json {
		return writeJSON(env.Stdout, doc)
	}
	fmt.Fprintf(env.Stdout, "core %d sent %d bytes on mailbox %d: %s\n", doc.Core, len(msg), m, showMessage(msg))
	if doc.Peer != "" {
		fmt.Fprintf(env.Stdout, "%s\n", doc.Peer)
	}
	return nil
}

const mboxRecvHelp = `Receives -count messages from mailbox MBOX, whose receiver this core must
be, and prints them. On fake the tool's peer core sends them: -message, or
"hello N from core P".`

func cmdMboxRecv(ctx context.Context, args []string, env *Env) error {
	f := newFlags(env, "mbox recv", "mbox recv [flags] DEVICE MBOX", mboxRecvHelp)
	mf := f.mboxFlags()
	count := f.Int("count", 1, "receive `n` messages")
	peerMsg := f.String("message", "", "on fake, what the peer sends")
	pos, err := f.parse(args, 2, 2)
	if err != nil {
		return err
	}
	if !f.isSet("core") {
		mf.core = 1
	}
	m, err := mailboxArg(f, pos[1])
	if err != nil {
		return err
	}
	b, err := openMbox(pos[0], mf, map[int][2]int{m: {mf.peer, mf.core}})
	if err != nil {
		return err
	}
	defer b.close()
	ch, err := b.drv.Channel(mbipcu.ChannelConfig{TX: -1, RX: m})
	if err != nil {
		return fmt.Errorf("%s: mailbox %d: %w", b.d.Name, m, err)
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(ctx, mf.timeout)
	defer cancel()
	doc := jsonMbox{header: newHeader("mbox recv"), Device: b.d.Name.String(), Core: b.drv.Core(), Mailbox: m, Messages: []string{}}
	var peerErr chan error
	if b.peer != nil {
		pch, err := b.peer.Channel(mbipcu.ChannelConfig{TX: m, RX: -1})
		if err != nil {
			return fmt.Errorf("fake: peer: %w", err)
		}
		defer pch.Close()
		peerErr = make(chan error, 1)
		go func() {
			for i := 0; i < *count; i++ {
				msg := *peerMsg
				if msg == "" {
					msg = fmt.Sprintf("hello %d from %d", i+1, mf.peer)
				}
				if err := pch.Send(ctx, []byte(msg)); err != nil {
					peerErr <- err
					return
				}
			}
			peerErr <- nil
		}()
		doc.Peer = fmt.Sprintf("core %d sent %d messages", mf.peer, *count)
	}
	buf := make([]byte, ch.MaxMessage())
	for i := 0; i < *count; i++ {
		n, err := ch.Recv(ctx, buf)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				break
			}
			return fmt.Errorf("%s: mailbox %d: %w", b.d.Name, m, err)
		}
		doc.Messages = append(doc.Messages, hex.EncodeToString(buf[:n]))
		if !f.json {
			fmt.Fprintf(env.Stdout, "core %d received %d bytes on mailbox %d: %s\n", doc.Core, n, m, showMessage(buf[:n]))
		}
	}
	if peerErr != nil {
		if err := <-peerErr; err != nil {
			return fmt.Errorf("fake: peer core %d: %w", mf.peer, err)
		}
	}
	if f.json {
		return writeJSON(env.Stdout, doc)
	}
	return nil
}

const mboxPingHelp = `Round trips: sends a message on mailbox -mbox to another core and waits for
its reply on mailbox -reply, -count times, checking that the reply is the
message, and prints the round-trip times. The other core must echo (the
firmware's loopback); on fake the tool runs the echoing peer core itself.`

func cmdMboxPing(ctx context.Context, args []string, env *Env) error {
	f := newFlags(env, "mbox ping", "mbox ping [flags] DEVICE", mboxPingHelp)
	mf := f.mboxFlags()
	tx := f.Int("mbox", 0, "the `mailbox` to send on")
	rx := f.Int("reply", 1, "the `mailbox` the replies come back on")
	count := f.Int("count", 10, "round trips")
	size := f.Int("size", 0, "message size in `bytes` (default: the largest)")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if !f.isSet("core") {
		mf.core = 1
	}
	if *tx == *rx || *tx < 0 || *rx < 0 || *tx > 15 || *rx > 15 || *count < 1 {
		return usageError(f.usage, "mbox ping: -mbox and -reply are two mailboxes 0 to 15, -count at least 1")
	}
	b, err := openMbox(pos[0], mf, map[int][2]int{*tx: {mf.core, mf.peer}, *rx: {mf.peer, mf.core}})
	if err != nil {
		return err
	}
	defer b.close()
	ch, err := b.drv.Channel(mbipcu.ChannelConfig{TX: *tx, RX: *rx})
	if err != nil {
		return fmt.Errorf("%s: mailboxes %d and %d: %w", b.d.Name, *tx, *rx, err)
	}
	defer ch.Close()
	n := *size
	if n <= 0 || n > ch.MaxMessage() {
		n = ch.MaxMessage()
	}
	ctx, cancel := context.WithTimeout(ctx, mf.timeout)
	defer cancel()
	reply := *rx
	doc := jsonMbox{header: newHeader("mbox ping"), Device: b.d.Name.String(), Core: b.drv.Core(), Mailbox: *tx, Reply: &reply}
	var echoDone chan error
	if b.peer != nil {
		pch, err := b.peer.Channel(mbipcu.ChannelConfig{TX: *rx, RX: *tx})
		if err != nil {
			return fmt.Errorf("fake: peer: %w", err)
		}
		defer pch.Close()
		echoDone = make(chan error, 1)
		go func() {
			buf := make([]byte, pch.MaxMessage())
			for i := 0; i < *count; i++ {
				k, err := pch.Recv(ctx, buf)
				if err == nil {
					err = pch.Send(ctx, buf[:k])
				}
				if err != nil {
					echoDone <- err
					return
				}
			}
			echoDone <- nil
		}()
		doc.Peer = fmt.Sprintf("core %d echoed", mf.peer)
	}
	var rtts []time.Duration
	buf := make([]byte, ch.MaxMessage())
	if !f.json {
		fmt.Fprintf(env.Stdout, "ping %s: core %d, mailbox %d out, %d back, %d bytes\n", b.d.Name, doc.Core, *tx, *rx, n)
	}
	for i := 0; i < *count; i++ {
		msg := pattern(i, n)
		start := time.Now()
		err := ch.Send(ctx, msg)
		var k int
		if err == nil {
			k, err = ch.Recv(ctx, buf)
		}
		rtt := time.Since(start)
		if err != nil {
			return fmt.Errorf("%s: ping %d: %w (is the other core echoing?)", b.d.Name, i+1, err)
		}
		if !bytes.Equal(buf[:k], msg) {
			return fmt.Errorf("%s: ping %d: reply % x differs from % x", b.d.Name, i+1, buf[:k], msg)
		}
		rtts = append(rtts, rtt)
		if !f.json {
			fmt.Fprintf(env.Stdout, "%d bytes: seq=%d time=%v\n", k, i+1, rtt)
		}
	}
	if echoDone != nil {
		if err := <-echoDone; err != nil {
			return fmt.Errorf("fake: peer core %d: %w", mf.peer, err)
		}
	}
	doc.RTT = summarize(rtts)
	if f.json {
		return writeJSON(env.Stdout, doc)
	}
	l := doc.RTT
	fmt.Fprintf(env.Stdout, "%d round trips: min %v, p50 %v, p99 %v, max %v\n", l.Samples,
		time.Duration(l.Min), time.Duration(l.P50), time.Duration(l.P99), time.Duration(l.Max))
	return nil
}
