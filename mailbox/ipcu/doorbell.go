package ipcu

import (
	"context"
	"fmt"

	"github.com/ipcu/ipcu/mailbox"
	regmap "github.com/ipcu/ipcu/regs/ipcu"
)

// Ring sets the doorbells bits of core target (docs/ipcu.md 8, 11.7). The
// core must be one of the target's SETTERS.
func (d *Driver) Ring(target int, bits uint32) error {
	if target < 0 || target >= int(regmap.CAPS.NCORES.Get(d.caps)) {
		return &mailbox.Error{Op: "ring", Channel: "ipcu doorbells", Err: fmt.Errorf("core %d does not exist", target)}
	}
	acl := d.blk.CORE[target].DB_ACL.Read()
	if regmap.CORE_DB_ACL.SETTERS.Get(acl)>>uint(d.self)&1 == 0 {
		return &mailbox.Error{Op: "ring", Channel: fmt.Sprintf("ipcu doorbells of core %d", target),
			Err: fmt.Errorf("core %d is not in DB_ACL.SETTERS %#x: %w", d.self, regmap.CORE_DB_ACL.SETTERS.Get(acl), mailbox.ErrPermission)}
	}
	d.blk.CORE[target].DB_SET.Write(bits)
	return nil
}

// Doorbells returns this core's rung doorbells, without clearing them.
func (d *Driver) Doorbells() uint32 { return d.blk.CORE[d.self].DB_STATUS.Read() }

// ClearDoorbells clears the doorbells bits (write 1 to clear). Clear only
// the bits read, so that a doorbell rung in between is not lost.
func (d *Driver) ClearDoorbells(bits uint32) { d.blk.CORE[d.self].DB_STATUS.Write(bits) }

// WaitDoorbells blocks until one of the doorbells in mask is rung and
// returns the rung doorbells in mask, without clearing them. Several
// goroutines may wait at once, on different masks: the interrupt is armed
// for all their doorbells, and its firing wakes every waiter.
func (d *Driver) WaitDoorbells(ctx context.Context, mask uint32) (uint32, error) {
	t := stoppedTimer()
	for {
		if v := d.Doorbells() & mask; v != 0 {
			return v, nil
		}
		d.mu.Lock()
		wake := d.dbWake // taken before the check below: a later firing closes it
		if d.irq != nil && d.dbEn|mask != d.dbEn {
			d.dbEn |= mask
			d.blk.CORE[d.self].DB_EN.Write(d.dbEn)
		}
		d.mu.Unlock()
		if v := d.Doorbells() & mask; v != 0 {
			return v, nil
		}
		t.Reset(d.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, &mailbox.Error{Op: "wait", Channel: "ipcu doorbells", Err: mailbox.CtxErr(ctx)}
		case <-wake:
		case <-t.C:
		}
		t.Stop()
		if d.isClosed() {
			return 0, &mailbox.Error{Op: "wait", Channel: "ipcu doorbells", Err: mailbox.ErrClosed}
		}
	}
}

func (d *Driver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}
