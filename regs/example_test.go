package regs_test

import (
	"fmt"
	"os"

	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/regs/regstest"
)

// A control register: EN [0] RW, MODE [2:1] RW, ERR [8] W1C.
var (
	ctrlFields = []regs.Field{
		{Name: "EN", Offset: 0, Width: 1, Access: regs.ReadWrite},
		{Name: "MODE", Offset: 1, Width: 2, Access: regs.ReadWrite},
		{Name: "ERR", Offset: 8, Width: 1, Access: regs.ReadWrite, WriteEffect: regs.OneToClear},
	}
	en   = regs.RWField[uint32]{Bits: regs.Bits[uint32]{Shift: 0, Width: 1}}
	mode = regs.RWField[uint32]{Bits: regs.Bits[uint32]{Shift: 1, Width: 2}}
	errf = regs.W1CField[uint32]{Bits: regs.Bits[uint32]{Shift: 8, Width: 1}}
)

// Update changes fields with one read and one write, and never writes a 1
// back to a write-1-to-clear flag that was not asked to clear.
func ExampleRW_Update() {
	bus := regstest.NewBus(4)
	bus.Poke(0, 32, 1<<8) // ERR is pending
	ctrl := regs.MakeRW[uint32](bus, 0, regs.LayoutOf[uint32](ctrlFields...))

	ctrl.Update(en.Val(1), mode.Val(2))
	for _, a := range bus.Trace() {
		fmt.Println(a)
	}
	v := ctrl.Read()
	fmt.Println("EN", en.Get(v), "MODE", mode.Get(v), "ERR pending:", errf.IsSet(v))

	ctrl.Update(errf.Clear()) // acknowledge the error: writes ERR=1
	// Output:
	// read32 0x0 = 0x100
	// write32 0x0 = 0x5
	// EN 1 MODE 2 ERR pending: false
}

// ReadAt and WriteAt check offsets that come from a user instead of
// panicking.
func ExampleReadAt() {
	bus := regstest.NewBus(0x10)
	_, err := regs.ReadAt(bus, 0x12, 32)
	fmt.Println(err)
	_, err = regs.ReadAt(bus, 0x2, 32)
	fmt.Println(err)
	// Output:
	// read32 at offset 0x12 (bus size 0x10): access out of range
	// read32 at offset 0x2 (bus size 0x10): misaligned access
}

// Dump prints every register with its fields decoded, marking values that
// differ from reset.
func ExampleDump() {
	p := &regs.Peripheral{Name: "DEMO", Size: 4, Registers: []regs.Register{
		{Name: "CTRL", Offset: 0, Bits: 32, Access: regs.ReadWrite, ResetMask: 0xffffffff, Fields: ctrlFields},
	}}
	bus := regstest.NewBus(4)
	bus.Poke(0, 32, 0x105)
	if err := regs.Dump(os.Stdout, bus, p, nil); err != nil {
		fmt.Println(err)
	}
	// Output:
	// DEMO
	// OFFSET  REGISTER      ACCESS  VALUE         RESET
	// 0x0000  CTRL          RW      0x00000105 *  0x00000000
	//           [0] EN      RW      1
	//           [2:1] MODE  RW      0x2
	//           [8] ERR     W1C     1
}
