package fakedev

// mboxStatus is MBOX[m].STATUS.
func (d *Device) mboxStatus(m int) uint32 {
	mb := &d.mbox[m]
	n := mb.count
	st := uint32(n)
	if n == 0 {
		st |= 1 << 8
	}
	if n == d.cfg.FIFODepth {
		st |= 1 << 9
	}
	if mb.ovf {
		st |= 1 << 16
	}
	if mb.unf {
		st |= 1 << 17
	}
	if mb.lenerr {
		st |= 1 << 18
	}
	return st
}

// commit is a write of COMMIT.LEN (docs/ipcu.md 4.3, 7.1): LENERR, then
// OVF, else queue the staging words with the bytes at and above LEN zeroed.
func (d *Device) commit(m, n int) {
	mb := &d.mbox[m]
	switch {
	case n > 4*d.cfg.MsgWords:
		mb.lenerr = true
		d.event(mb.sender(), "mailbox length error")
	case mb.count == d.cfg.FIFODepth:
		mb.ovf = true
		d.event(mb.sender(), "mailbox overflow")
	default:
		msg := message{len: n}
		for w := range msg.data {
			keep := n - 4*w // bytes of this word inside the message
			switch {
			case keep >= 4:
				msg.data[w] = mb.tx[w]
			case keep > 0:
				msg.data[w] = mb.tx[w] & (1<<(8*uint(keep)) - 1)
			}
		}
		mb.fifo[(mb.head+mb.count)%len(mb.fifo)] = msg
		mb.count++
	}
}

// pop is POP.POP = 1: UNF on an empty FIFO, else remove the head and set
// TX_PEND bit m of the sender.
func (d *Device) pop(m int) {
	mb := &d.mbox[m]
	if mb.count == 0 {
		mb.unf = true
		return
	}
	mb.head = (mb.head + 1) % len(mb.fifo)
	mb.count--
	if s := mb.sender(); s < d.cfg.Cores {
		d.cores[s].txPend |= 1 << m
	}
}

// writeMboxCfg is a permitted write of MBOX[m].CFG; a change of EN, SENDER
// or RECEIVER flushes the mailbox (7.2).
func (d *Device) writeMboxCfg(m int, v uint32) {
	mb := &d.mbox[m]
	old := mb.cfg
	mb.cfg = v & mboxCfgMask
	const parties = 7<<8 | 7<<4 | 1
	if (old^mb.cfg)&parties == 0 {
		return
	}
	if s := int(old >> 4 & 7); s < d.cfg.Cores {
		d.cores[s].txPend &^= 1 << m
	}
	*mb = mboxState{cfg: mb.cfg}
}
