// Package ipcu is the driver of the reference IPC block's mailboxes and
// doorbells (docs/ipcu.md), on the generated register map regs/ipcu.
//
// A Driver runs on one core. It takes what it needs explicitly: the
// block's registers as a regs.Bus (a UIO or VFIO window, or a fakedev
// core), the core's interrupt line as an irq.Source (or none, to poll),
// and nothing else; the same driver runs on hardware, on the real kernel in
// a VM, and on the model.
//
//	drv, err := ipcu.Open(ipcu.Config{Bus: window, IRQ: line})
//	ch, err := drv.Channel(ipcu.ChannelConfig{TX: 0, RX: 1})
//	err = ch.Send(ctx, []byte("ping"))
//	n, err := ch.Recv(ctx, buf)
//
// A Channel implements mailbox.Channel over one or two mailboxes (TX and
// RX), with the three TX-done modes of the Linux mailbox framework
// (TxDoneIRQ, TxDonePoll, TxDoneAck, plus TxDoneQueued). The interrupt
// handler follows docs/ipcu.md 6.3: it reads IRQ_MSTATUS, acknowledges or
// disarms each source, wakes the waiters and writes IRQ_EOI. A receive
// mailbox's interrupt is disarmed until its receiver has drained it (its
// source is a level). Blocked calls also re-check the device every
// PollInterval, so a lost interrupt delays a message by at most that much.
//
// Errors wrap mailbox's sentinels: a core that is not a mailbox's sender
// or receiver gets os.ErrPermission (from the access-control registers); a
// mailbox reconfigured or a block reset under an open channel gives
// ErrReset; a device that reads as absent gives ErrBroken.
//
// The helpers ConfigureMailbox, AllowDoorbells, ConfigureDMA, LockAll,
// Enable and TakeViolation are the management core's (core 0) side of
// docs/ipcu.md 11.1 and 11.13.
//
// The package is tested with mailbox/mailboxtest on fakedev, with and
// without injected faults, under -race.
package ipcu
