package ipcu

import (
	"fmt"

	"github.com/ipcu/ipcu/mailbox"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// The access-control helpers below run on the management core, core 0
// (docs/ipcu.md 11.1). Each writes the register, reads it back, and, when
// the write was refused, says why from the block's violation log.

// ConfigureMailbox gives mailbox m to sender and receiver and enables it.
func (d *Driver) ConfigureMailbox(m, sender, receiver int) error {
	f := regmap.MBOX_CFG
	want := f.EN.Mask() | uint32(sender)<<f.SENDER.Shift | uint32(receiver)<<f.RECEIVER.Shift
	return d.writeACL(fmt.Sprintf("MBOX[%d].CFG", m), d.blk.MBOX[m].CFG.Write, d.blk.MBOX[m].CFG.Read, want)
}

// AllowDoorbells sets which cores (a bit per core) may ring core's
// doorbells.
func (d *Driver) AllowDoorbells(core int, setters uint8) error {
	return d.writeACL(fmt.Sprintf("CORE[%d].DB_ACL", core), d.blk.CORE[core].DB_ACL.Write, d.blk.CORE[core].DB_ACL.Read, uint32(setters))
}

// ConfigureDMA gives DMA channel c to src and dst with priority prio (0 to
// 3) and enables it.
func (d *Driver) ConfigureDMA(c, src, dst int, prio regmap.DMA_CFG_PRIO) error {
	f := regmap.DMA_CFG
	want := f.EN.Mask() | uint32(src)<<f.SRC.Shift | uint32(dst)<<f.DST.Shift | uint32(prio)<<f.PRIO.Shift
	return d.writeACL(fmt.Sprintf("DMA[%d].CFG", c), d.blk.DMA[c].CFG.Write, d.blk.DMA[c].CFG.Read, want)
}

// LockAll locks every access-control register until hardware reset
// (ACL_LOCK.ALL).
func (d *Driver) LockAll() error {
	if d.self != 0 {
		return d.adminErr("ACL_LOCK", fmt.Errorf("core %d is not the management core: %w", d.self, mailbox.ErrPermission))
	}
	d.blk.ACL_LOCK.Write(1)
	return nil
}

// Enable sets CTRL.EN: interrupt lines and the DMA engine run.
func (d *Driver) Enable() error {
	if d.self != 0 {
		return d.adminErr("CTRL", fmt.Errorf("core %d is not the management core: %w", d.self, mailbox.ErrPermission))
	}
	d.blk.CTRL.Update(regmap.CTRL.EN.Val(1))
	return nil
}

// A Violation is the block's violation log (ERR_INFO), read by core 0.
type Violation struct {
	Offset    uint32
	Initiator int
	Write     bool
	Bits      int
	Cause     regmap.ERR_INFO_CAUSE
	Overrun   bool   // later violations were not logged
	Count     uint32 // violations since the counter was last read
}

func (v Violation) String() string {
	op := "read"
	if v.Write {
		op = "write"
	}
	return fmt.Sprintf("%s by core %d of %d bits at %#x refused (%v)", op, v.Initiator, v.Bits, v.Offset, v.Cause)
}

// TakeViolation returns the logged violation, if any, and clears the log
// and counter (docs/ipcu.md 11.13). Core 0 only.
func (d *Driver) TakeViolation() (Violation, bool, error) {
	if d.self != 0 {
		return Violation{}, false, d.adminErr("ERR_INFO", fmt.Errorf("core %d is not the management core: %w", d.self, mailbox.ErrPermission))
	}
	st := d.blk.ERR_STATUS.Read()
	info := d.blk.ERR_INFO.Read()
	count := d.blk.ERR_COUNT.Read()
	d.blk.ERR_STATUS.Write(3)
	if !regmap.ERR_STATUS.VALID.IsSet(st) {
		return Violation{}, false, nil
	}
	f := regmap.ERR_INFO
	return Violation{
		Offset:    f.OFFSET.Get(info),
		Initiator: int(f.INITIATOR.Get(info)),
		Write:     f.WRITE.Get(info) == regmap.ERR_INFO_WRITE_WRITE,
		Bits:      8 << f.SIZE.Get(info),
		Cause:     f.CAUSE.Get(info),
		Overrun:   regmap.ERR_STATUS.OVERRUN.IsSet(st),
		Count:     count,
	}, true, nil
}

func (d *Driver) adminErr(reg string, err error) error {
	return &mailbox.Error{Op: "configure", Channel: "ipcu " + reg, Err: err}
}

// writeACL writes an access-control register and checks it took.
func (d *Driver) writeACL(reg string, write func(uint32), read func() uint32, want uint32) error {
	if d.self != 0 {
		return d.adminErr(reg, fmt.Errorf("core %d is not the management core: %w", d.self, mailbox.ErrPermission))
	}
	// Clear a stale log entry so that the read-back explains this write.
	d.blk.ERR_STATUS.Write(3)
	write(want)
	if got := read(); got != want {
		if v, ok, _ := d.TakeViolation(); ok {
			return d.adminErr(reg, fmt.Errorf("wrote %#x, reads %#x: %v: %w", want, got, v, mailbox.ErrPermission))
		}
		return d.adminErr(reg, fmt.Errorf("wrote %#x, reads %#x: %w", want, got, mailbox.ErrBroken))
	}
	return nil
}
