package fakedev

// who is a permission set of docs/ipcu.md section 4 ("Read by", "Write
// by"), evaluated at the time of the access for initiator i.
type who func(d *Device, s *slot, i int) bool

func anyCore(*Device, *slot, int) bool     { return true } // ids >= NCORES are refused before
func mgmt(_ *Device, _ *slot, i int) bool  { return i == 0 }
func owner(_ *Device, s *slot, i int) bool { return i == s.i }
func setters(d *Device, s *slot, i int) bool {
	return d.cores[s.i].dbACL>>uint(i)&1 != 0
}
func snd(d *Device, s *slot, i int) bool {
	m := &d.mbox[s.i]
	return m.en() && m.sender() == i
}
func rcv(d *Device, s *slot, i int) bool {
	m := &d.mbox[s.i]
	return m.en() && m.receiver() == i
}
func src(d *Device, s *slot, i int) bool {
	c := &d.dma[s.i]
	return c.en() && c.src() == i
}
func dst(d *Device, s *slot, i int) bool {
	c := &d.dma[s.i]
	return c.en() && c.dst() == i
}

func or(ws ...who) who {
	return func(d *Device, s *slot, i int) bool {
		for _, w := range ws {
			if w(d, s, i) {
				return true
			}
		}
		return false
	}
}

var (
	ownerOrMgmt = or(owner, mgmt)
	mboxParties = or(snd, rcv, mgmt)
	dmaParties  = or(src, dst, mgmt)
)

// regDef is the modelled behaviour of one register shape.
type regDef struct {
	bits int
	// read and write are the permission sets. readsZero: a permitted read
	// returns 0 without side effect (write-only registers); ignoreWrite: a
	// permitted write has no effect (read-only registers).
	read, write            who
	readsZero, ignoreWrite bool
	// acl marks the access-control registers, refused when LOCK is 1.
	acl bool
	// get returns the register's value for initiator i (with any read side
	// effect); set performs a permitted write of a 32-bit register.
	get func(d *Device, s *slot, i int) uint64
	set func(d *Device, s *slot, i int, v uint32)
	// r64 locates the storage of a 64-bit register (docs/ipcu.md 3.4).
	r64 func(d *Device, s *slot) (val *uint64, latch *uint32, mask uint64, frozen bool)
}

func constant(v uint64) func(*Device, *slot, int) uint64 {
	return func(*Device, *slot, int) uint64 { return v }
}

func ro(read who, get func(d *Device, s *slot, i int) uint64) *regDef {
	return &regDef{bits: 32, read: read, write: read, ignoreWrite: true, get: get}
}

func rw(read, write who, get func(d *Device, s *slot, i int) uint64, set func(d *Device, s *slot, i int, v uint32)) *regDef {
	return &regDef{bits: 32, read: read, write: write, get: get, set: set}
}

func wo(read, write who, set func(d *Device, s *slot, i int, v uint32)) *regDef {
	return &regDef{bits: 32, read: read, write: write, readsZero: true, set: set}
}

func core(d *Device, s *slot) *coreState { return &d.cores[s.i] }

// regDefs maps every register shape of regs/ipcu/ipcu.svd to its
// behaviour. TestEveryRegisterIsModelled and New check that none is
// missing.
var regDefs = map[string]*regDef{
	// 4.1 Global registers.
	"ID":      ro(anyCore, constant(0x49504355)),
	"VERSION": ro(anyCore, constant(0x01000000)),
	"CAPS":    ro(anyCore, func(d *Device, _ *slot, _ int) uint64 { return uint64(d.cfg.caps()) }),
	"DMACAPS": ro(anyCore, constant(dmaCaps)),
	"CTRL": rw(anyCore, mgmt,
		func(d *Device, _ *slot, _ int) uint64 { return b2u(d.ctrlEN) },
		func(d *Device, _ *slot, _ int, v uint32) { d.writeCTRL(v) }),
	"ACL_LOCK": wo(anyCore, mgmt, func(d *Device, _ *slot, _ int, v uint32) {
		if v&1 != 0 {
			d.lockAll()
		}
	}),
	"CORE_ID": ro(anyCore, func(_ *Device, _ *slot, i int) uint64 { return uint64(i) }),
	"ERR_STATUS": rw(mgmt, mgmt,
		func(d *Device, _ *slot, _ int) uint64 { return uint64(d.errSt) },
		func(d *Device, _ *slot, _ int, v uint32) {
			if v&1 != 0 && d.errSt&1 != 0 {
				d.errSt &^= 1
				d.errInf = 0
			}
			d.errSt &^= v & 2
		}),
	"ERR_INFO": ro(mgmt, func(d *Device, _ *slot, _ int) uint64 { return uint64(d.errInf) }),
	"ERR_COUNT": ro(mgmt, func(d *Device, _ *slot, _ int) uint64 {
		n := d.errCnt
		d.errCnt = 0
		return uint64(n)
	}),

	// 4.2 Per-core registers.
	"CORE[].IRQ_STATUS": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(d.irqStatus(s.i)) },
		func(d *Device, s *slot, _ int, v uint32) {
			if v&irqAccess != 0 {
				core(d, s).irqAccess = false
			}
		}),
	"CORE[].IRQ_MASK": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).irqMask) },
		func(d *Device, s *slot, _ int, v uint32) { core(d, s).irqMask = v & irqAll }),
	"CORE[].IRQ_MSTATUS": ro(ownerOrMgmt, func(d *Device, s *slot, _ int) uint64 {
		return uint64(d.irqStatus(s.i) & core(d, s).irqMask)
	}),
	"CORE[].IRQ_EOI": wo(ownerOrMgmt, owner, func(d *Device, s *slot, _ int, v uint32) {
		if v&1 != 0 {
			d.eoi(s.i)
		}
	}),
	"CORE[].RX_PEND": ro(ownerOrMgmt, func(d *Device, s *slot, _ int) uint64 { return uint64(d.rxPend(s.i)) }),
	"CORE[].RX_EN": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).rxEn) },
		func(d *Device, s *slot, _ int, v uint32) { core(d, s).rxEn = v & 0xffff }),
	"CORE[].TX_PEND": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).txPend) },
		func(d *Device, s *slot, _ int, v uint32) { core(d, s).txPend &^= v }),
	"CORE[].TX_EN": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).txEn) },
		func(d *Device, s *slot, _ int, v uint32) { core(d, s).txEn = v & 0xffff }),
	"CORE[].DB_STATUS": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).dbStatus) },
		func(d *Device, s *slot, _ int, v uint32) { core(d, s).dbStatus &^= v }),
	"CORE[].DB_SET": wo(or(owner, mgmt, setters), setters,
		func(d *Device, s *slot, _ int, v uint32) { core(d, s).dbStatus |= v }),
	"CORE[].DB_EN": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).dbEn) },
		func(d *Device, s *slot, _ int, v uint32) { core(d, s).dbEn = v }),
	"CORE[].DB_ACL": {bits: 32, read: anyCore, write: mgmt, acl: true,
		get: func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).dbACL) },
		set: func(d *Device, s *slot, _ int, v uint32) { core(d, s).dbACL = v & dbACLMask }},
	"CORE[].DMA_PEND": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).dmaPend) },
		func(d *Device, s *slot, _ int, v uint32) {
			core(d, s).dmaPend &^= v
			d.coalCheck(s.i)
		}),
	"CORE[].DMA_EN": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).dmaEn) },
		func(d *Device, s *slot, _ int, v uint32) {
			core(d, s).dmaEn = v & dmaPendMask
			d.coalRestart(s.i)
		}),
	"CORE[].DMA_ERR_PEND": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).dmaErrPend) },
		func(d *Device, s *slot, _ int, v uint32) { core(d, s).dmaErrPend &^= v }),
	"CORE[].COAL": rw(ownerOrMgmt, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(core(d, s).coal) },
		func(d *Device, s *slot, _ int, v uint32) {
			core(d, s).coal = v & coalMask
			d.coalRestart(s.i)
		}),

	// 4.3 Mailbox registers.
	"MBOX[].CFG": {bits: 32, read: anyCore, write: mgmt, acl: true,
		get: func(d *Device, s *slot, _ int) uint64 { return uint64(d.mbox[s.i].cfg) },
		set: func(d *Device, s *slot, _ int, v uint32) { d.writeMboxCfg(s.i, v) }},
	"MBOX[].STATUS": rw(mboxParties, or(snd, rcv),
		func(d *Device, s *slot, _ int) uint64 { return uint64(d.mboxStatus(s.i)) },
		func(d *Device, s *slot, _ int, v uint32) {
			m := &d.mbox[s.i]
			m.ovf = m.ovf && v&(1<<16) == 0
			m.unf = m.unf && v&(1<<17) == 0
			m.lenerr = m.lenerr && v&(1<<18) == 0
		}),
	"MBOX[].COMMIT": wo(snd, snd, func(d *Device, s *slot, _ int, v uint32) { d.commit(s.i, int(v&0x1f)) }),
	"MBOX[].RXLEN": ro(rcv, func(d *Device, s *slot, _ int) uint64 {
		m := &d.mbox[s.i]
		if m.count == 0 {
			return 0
		}
		return 1<<31 | uint64(m.front().len)
	}),
	"MBOX[].POP": wo(rcv, rcv, func(d *Device, s *slot, _ int, v uint32) {
		if v&1 != 0 {
			d.pop(s.i)
		}
	}),
	"MBOX[].TXDATA[]": rw(snd, snd,
		func(d *Device, s *slot, _ int) uint64 { return uint64(d.mbox[s.i].tx[s.n]) },
		func(d *Device, s *slot, _ int, v uint32) { d.mbox[s.i].tx[s.n] = v }),
	"MBOX[].RXDATA[]": ro(rcv, func(d *Device, s *slot, _ int) uint64 {
		m := &d.mbox[s.i]
		if m.count == 0 {
			return 0
		}
		return uint64(m.front().data[s.n])
	}),

	// 4.4 DMA channel registers.
	"DMA[].CFG": {bits: 32, read: anyCore, write: mgmt, acl: true,
		get: func(d *Device, s *slot, _ int) uint64 { return uint64(d.dma[s.i].cfg) },
		set: func(d *Device, s *slot, _ int, v uint32) { d.writeDMACfg(s.i, v) }},
	"DMA[].STATUS": rw(dmaParties, or(src, dst),
		func(d *Device, s *slot, _ int) uint64 { return uint64(d.dmaStatus(s.i)) },
		func(d *Device, s *slot, _ int, v uint32) {
			if v&(1<<8) != 0 {
				d.clearDMAError(s.i)
			}
		}),
	"DMA[].TX_CTRL": rw(dmaParties, src,
		func(d *Device, s *slot, _ int) uint64 { return uint64(d.dma[s.i].tx.ctrl) },
		func(d *Device, s *slot, _ int, v uint32) { d.writeRingCtrl(s.i, 0, v) }),
	"DMA[].RX_CTRL": rw(dmaParties, dst,
		func(d *Device, s *slot, _ int) uint64 { return uint64(d.dma[s.i].rx.ctrl) },
		func(d *Device, s *slot, _ int, v uint32) { d.writeRingCtrl(s.i, 1, v) }),
	"DMA[].TX_BASE": reg64(src, func(c *dmaState) (*ring, bool) { return &c.tx, true }),
	"DMA[].TX_WB":   reg64(src, func(c *dmaState) (*ring, bool) { return &c.tx, false }),
	"DMA[].RX_BASE": reg64(dst, func(c *dmaState) (*ring, bool) { return &c.rx, true }),
	"DMA[].RX_WB":   reg64(dst, func(c *dmaState) (*ring, bool) { return &c.rx, false }),
	"DMA[].TX_SIZE": ringReg(src, 0, func(r *ring) *uint32 { return &r.size }),
	"DMA[].RX_SIZE": ringReg(dst, 1, func(r *ring) *uint32 { return &r.size }),
	"DMA[].TX_PROD": rw(dmaParties, src,
		func(d *Device, s *slot, _ int) uint64 { return uint64(d.dma[s.i].tx.prod) },
		func(d *Device, s *slot, _ int, v uint32) { d.writeProd(s.i, 0, d.garbleProd(v)) }),
	"DMA[].RX_PROD": rw(dmaParties, dst,
		func(d *Device, s *slot, _ int) uint64 { return uint64(d.dma[s.i].rx.prod) },
		func(d *Device, s *slot, _ int, v uint32) { d.writeProd(s.i, 1, d.garbleProd(v)) }),
	"DMA[].TX_CONS": ro(dmaParties, func(d *Device, s *slot, _ int) uint64 { return uint64(d.dma[s.i].tx.cons) }),
	"DMA[].RX_CONS": ro(dmaParties, func(d *Device, s *slot, _ int) uint64 { return uint64(d.dma[s.i].rx.cons) }),
}

// reg64 defines a 64-bit ring address register: BASE (16-byte aligned) or
// WB (4-byte aligned), frozen while its ring runs.
func reg64(owner who, side func(c *dmaState) (r *ring, base bool)) *regDef {
	return &regDef{bits: 64, read: dmaParties, write: owner,
		r64: func(d *Device, s *slot) (*uint64, *uint32, uint64, bool) {
			r, base := side(&d.dma[s.i])
			if base {
				return &r.base, &r.baseLatch, ^uint64(0xf), r.running()
			}
			return &r.wb, &r.wbLatch, ^uint64(0x3), r.running()
		}}
}

// ringReg defines a 32-bit ring register that is frozen while the ring
// runs (SIZE).
func ringReg(owner who, side int, field func(r *ring) *uint32) *regDef {
	pick := func(d *Device, s *slot) *ring {
		if side == 0 {
			return &d.dma[s.i].tx
		}
		return &d.dma[s.i].rx
	}
	return rw(dmaParties, owner,
		func(d *Device, s *slot, _ int) uint64 { return uint64(*field(pick(d, s))) },
		func(d *Device, s *slot, _ int, v uint32) {
			if r := pick(d, s); !r.running() {
				*field(r) = v & 0xffff
			}
		})
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
