package fakedev

import "github.com/ipcu/ipcu/regs/ipcu"

// dmaStatus is DMA[c].STATUS.
func (d *Device) dmaStatus(c int) uint32 {
	ch := &d.dma[c]
	var st uint32
	if d.active(c) {
		st |= 1
	}
	if ch.stall {
		st |= 1 << 1
	}
	if ch.err {
		st |= 1<<8 | uint32(ch.errRing)<<9 | uint32(ch.errCode)<<12 | (ch.errIdx&0xffff)<<16
	}
	return st
}

// active reports STATUS.ACTIVE (docs/ipcu.md 9.1).
func (d *Device) active(c int) bool {
	ch := &d.dma[c]
	return d.ctrlEN && ch.en() && ch.tx.running() && ch.rx.running() && !ch.err
}

// side returns ring 0 (TX) or 1 (RX) of channel c.
func (d *Device) side(c, r int) *ring {
	if r == 0 {
		return &d.dma[c].tx
	}
	return &d.dma[c].rx
}

// halt records the first error of channel c and tells both parties
// (docs/ipcu.md 9.6). Later errors while ERR = 1 change nothing.
func (d *Device) halt(c, code, r int, idx uint32) {
	ch := &d.dma[c]
	if ch.err {
		return
	}
	ch.err, ch.errCode, ch.errRing, ch.errIdx = true, code, r, idx&0xffff
	ch.stall, ch.wait = false, false
	d.eng.gen[c]++
	for _, k := range []int{ch.src(), ch.dst()} {
		if ch.en() && k < d.cfg.Cores {
			d.cores[k].dmaErrPend |= 1 << c
		}
	}
	d.eventf(-1, "dma halt ch%d %v", c, ipcu.DMA_STATUS_ERRCODE(code))
}

// clearDMAError is STATUS.ERR write-1: clear, re-check the SIZE of each
// running side (TX first), resume.
func (d *Device) clearDMAError(c int) {
	ch := &d.dma[c]
	if !ch.err {
		return
	}
	ch.err, ch.errCode, ch.errRing, ch.errIdx = false, errNone, 0, 0
	ch.stall, ch.wait = false, false
	for r := 0; r < 2; r++ {
		if s := d.side(c, r); s.running() && !s.sizeOK() {
			d.halt(c, errBadCfg, r, 0)
			return
		}
	}
	d.kick()
}

// writeRingCtrl is a write of TX_CTRL (r = 0) or RX_CTRL (r = 1), applied
// in the order RUN, WB_EN, RST.
func (d *Device) writeRingCtrl(c, r int, v uint32) {
	s := d.side(c, r)
	wasRunning := s.running()
	s.ctrl = s.ctrl&^ctrlRun | v&ctrlRun
	if s.running() && !wasRunning && !s.sizeOK() {
		d.halt(c, errBadCfg, r, 0)
	}
	if !s.running() {
		d.dma[c].stall, d.dma[c].wait = false, false
	}
	s.ctrl = s.ctrl&^ctrlWBEn | v&ctrlWBEn
	if v&ctrlRst != 0 && !s.running() {
		s.prod, s.cons = 0, 0
	}
	d.kick()
}

// writeProd is a write of TX_PROD or RX_PROD, accepted only inside the
// window [old PROD, CONS + SIZE] (docs/ipcu.md 9.3).
func (d *Device) writeProd(c, r int, v uint32) {
	s := d.side(c, r)
	if v-s.cons >= s.prod-s.cons && v-s.cons <= s.size {
		if r == 1 && v != s.prod {
			d.dma[c].wait = false // new RX buffers: a stalled channel retries (STALL stays 1 until then)
		}
		s.prod = v
		d.kick()
		return
	}
	d.halt(c, errBadIndex, r, v)
}

// writeDMACfg is a permitted write of DMA[c].CFG; a change of EN, SRC or DST
// resets the channel (docs/ipcu.md 4.4).
func (d *Device) writeDMACfg(c int, v uint32) {
	ch := &d.dma[c]
	old := ch.cfg
	ch.cfg = v & dmaCfgMask
	const parties = 7<<8 | 7<<4 | 1
	if (old^ch.cfg)&parties == 0 {
		d.kick()
		return
	}
	for _, k := range []int{int(old >> 4 & 7), int(old >> 8 & 7)} {
		if k < d.cfg.Cores {
			d.cores[k].dmaPend &^= 1<<c | 1<<(16+c)
			d.cores[k].dmaErrPend &^= 1 << c
			d.coalCheck(k)
		}
	}
	*ch = dmaState{cfg: ch.cfg}
	d.eng.gen[c]++ // a packet in flight is abandoned
}
