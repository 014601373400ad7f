package fakedev

import "github.com/ipcu/ipcu/regs/ipcu"

// Bits shared by several registers.
const (
	lockBit = 1 << 31 // LOCK of the access-control registers

	irqMboxRX  = 1 << 0
	irqMboxTX  = 1 << 1
	irqDB      = 1 << 2
	irqDMADone = 1 << 3
	irqDMAErr  = 1 << 4
	irqAccess  = 1 << 5
	irqAll     = 0x3f

	mboxCfgMask = lockBit | 7<<8 | 7<<4 | 1
	dbACLMask   = lockBit | 0xff
	dmaCfgMask  = lockBit | 3<<16 | 7<<8 | 7<<4 | 1
	dmaPendMask = 0xf<<16 | 0xf
	coalMask    = 0xffff<<16 | 0xff

	ctrlRun  = 1 << 0
	ctrlWBEn = 1 << 1
	ctrlRst  = 1 << 2
)

// coreState is CORE[k] and its internal coalescer and notification state.
type coreState struct {
	irqAccess  bool
	irqMask    uint32
	rxEn       uint32
	txPend     uint32
	txEn       uint32
	dbStatus   uint32
	dbEn       uint32
	dbACL      uint32
	dmaPend    uint32
	dmaEn      uint32
	dmaErrPend uint32
	coal       uint32

	// The coalescer (docs/ipcu.md 6.4).
	cnt      int
	fire     bool
	timer    Timer
	timerGen uint64

	line  bool   // LINE[k] as last evaluated
	efd   int    // the notification eventfd, -1 for ids >= NCORES
	notes uint64 // notifications delivered
}

func (c *coreState) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.timerGen++
}

// message is one queued mailbox message.
type message struct {
	len  int
	data [4]uint32
}

// mboxState is MBOX[m].
type mboxState struct {
	cfg              uint32
	ovf, unf, lenerr bool
	tx               [4]uint32
	fifo             [16]message // a ring of FIFO_DEPTH messages from head
	head, count      int
}

// front returns the head message; the FIFO must not be empty.
func (m *mboxState) front() *message { return &m.fifo[m.head] }

func (m *mboxState) en() bool      { return m.cfg&1 != 0 }
func (m *mboxState) sender() int   { return int(m.cfg >> 4 & 7) }
func (m *mboxState) receiver() int { return int(m.cfg >> 8 & 7) }

// ring is one side (TX or RX) of a DMA channel.
type ring struct {
	ctrl       uint32 // RUN and WB_EN
	base, wb   uint64
	baseLatch  uint32
	wbLatch    uint32
	size       uint32
	prod, cons uint32
}

func (r *ring) running() bool { return r.ctrl&ctrlRun != 0 }

// sizeOK reports whether SIZE is a power of two from 1 to 2^MaxRingLog2.
func (r *ring) sizeOK() bool {
	return r.size != 0 && r.size&(r.size-1) == 0 && r.size <= 1<<MaxRingLog2
}

// DMA error codes (STATUS.ERRCODE), from the generated map.
const (
	errNone      = int(ipcu.DMA_STATUS_ERRCODE_NONE)
	errDescFault = int(ipcu.DMA_STATUS_ERRCODE_DESC_FAULT)
	errBufFault  = int(ipcu.DMA_STATUS_ERRCODE_BUF_FAULT)
	errWBFault   = int(ipcu.DMA_STATUS_ERRCODE_WB_FAULT)
	errNotOwned  = int(ipcu.DMA_STATUS_ERRCODE_NOT_OWNED)
	errBadLen    = int(ipcu.DMA_STATUS_ERRCODE_BAD_LEN)
	errBadDesc   = int(ipcu.DMA_STATUS_ERRCODE_BAD_DESC)
	errBadIndex  = int(ipcu.DMA_STATUS_ERRCODE_BAD_INDEX)
	errBadCfg    = int(ipcu.DMA_STATUS_ERRCODE_BAD_CFG)
	errTooBig    = int(ipcu.DMA_STATUS_ERRCODE_TOO_BIG)
)

// dmaState is DMA[c].
type dmaState struct {
	cfg     uint32
	tx, rx  ring
	err     bool
	errRing int // 0 TX, 1 RX
	errCode int
	errIdx  uint32
	stall   bool // STATUS.STALL: until delivery, stop or halt
	wait    bool // not eligible after a stall, until new RX buffers (9.4)
}

func (c *dmaState) en() bool { return c.cfg&1 != 0 }
func (c *dmaState) src() int { return int(c.cfg >> 4 & 7) }
func (c *dmaState) dst() int { return int(c.cfg >> 8 & 7) }
