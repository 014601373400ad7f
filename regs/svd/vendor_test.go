package svd

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/regs"
)

// vendorFiles are the SVD files in ../shared/svd.
var vendorFiles = []string{"RP2040.svd", "STM32WB55_CM4.svd", "nrf5340_application.svd"}

// parseVendor parses one of the shared vendor files, or skips.
func parseVendor(t *testing.T, name string) *Device {
	t.Helper()
	dir := testenv.SharedDir(t, "svd")
	start := time.Now()
	d, err := ParseFile(filepath.Join(dir, name))
	require.NoError(t, err)
	t.Logf("%s: parsed in %v, %d peripherals", name, time.Since(start), len(d.Peripherals))
	return d
}

// describeOne returns the description of one peripheral of d.
func describeOne(t *testing.T, d *Device, name string) regs.Peripheral {
	t.Helper()
	desc, err := d.Describe(name)
	require.NoError(t, err)
	require.Len(t, desc.Peripherals, 1)
	return desc.Peripherals[0]
}

// flatRegister returns the register called name of a description.
func flatRegister(t *testing.T, p regs.Peripheral, name string) regs.Register {
	t.Helper()
	for _, r := range p.Registers {
		if r.Name == name {
			return r
		}
	}
	require.Failf(t, "no register", "%s has no register %s", p.Name, name)
	return regs.Register{}
}

func flatField(t *testing.T, r regs.Register, name string) regs.Field {
	t.Helper()
	for _, f := range r.Fields {
		if f.Name == name {
			return f
		}
	}
	require.Failf(t, "no field", "%s has no field %s", r.Name, name)
	return regs.Field{}
}

func TestVendorFilesParseAndDescribe(t *testing.T) {
	for _, name := range vendorFiles {
		t.Run(name, func(t *testing.T) {
			d := parseVendor(t, name)
			require.NoError(t, checkDevice(d))
			start := time.Now()
			desc, err := d.Describe()
			require.NoError(t, err)
			require.NoError(t, checkDescription(desc))
			require.Len(t, desc.Peripherals, len(d.Peripherals))
			n := 0
			for _, p := range d.Peripherals {
				one, err := d.Describe(p.Name)
				require.NoError(t, err, p.Name)
				n += len(one.Peripherals[0].Registers)
			}
			t.Logf("%s: described in %v, %d registers", name, time.Since(start), n)
		})
	}
}

func TestVendorSTM32WB55(t *testing.T) {
	d := parseVendor(t, "STM32WB55_CM4.svd")
	assert.Equal(t, "STM32WB55_CM4", d.Name)
	assert.Equal(t, 32, d.Defaults.Size)

	ipcc := d.Peripheral("IPCC")
	require.NotNil(t, ipcc)
	assert.Equal(t, uint64(0x58000C00), ipcc.BaseAddress)
	require.Len(t, ipcc.Interrupts, 2)
	assert.Equal(t, Interrupt{Name: "IPCC_C1_RX_IT", Description: "IPCC CPU1 RX occupied interrupt", Value: 44, Line: ipcc.Interrupts[0].Line}, ipcc.Interrupts[0])
	assert.Equal(t, 45, ipcc.Interrupts[1].Value)

	c1cr := ipcc.Register("C1CR")
	require.NotNil(t, c1cr)
	assert.Equal(t, regs.ReadWrite, c1cr.Access)
	rxoie := c1cr.Field("RXOIE")
	assert.Equal(t, 0, rxoie.BitOffset)
	assert.Equal(t, 1, rxoie.BitWidth)
	assert.Equal(t, 16, c1cr.Field("TXFIE").BitOffset)

	p := describeOne(t, d, "IPCC")
	for _, tc := range []struct {
		name   string
		offset uint64
		access regs.Access
		reset  uint64
	}{
		{"C1CR", 0x0, regs.ReadWrite, 0},
		{"C1MR", 0x4, regs.ReadWrite, 0xFFFFFFFF},
		{"C1SCR", 0x8, regs.WriteOnly, 0},
		{"C1TO2SR", 0xC, regs.ReadOnly, 0},
		{"C2TOC1SR", 0x1C, regs.ReadOnly, 0},
		{"HWCFGR", 0x3F0, regs.ReadOnly, 0x6},
		{"IPIDR", 0x3F8, regs.ReadOnly, 0x00100071},
	} {
		r := flatRegister(t, p, tc.name)
		assert.Equal(t, tc.offset, r.Offset, tc.name)
		assert.Equal(t, tc.access, r.Access, tc.name)
		assert.Equal(t, tc.reset, r.Reset, tc.name)
		assert.Equal(t, uint8(32), r.Bits, tc.name)
	}
	assert.Equal(t, uint64(0x400), p.Size)
	ch1s := flatField(t, flatRegister(t, p, "C1SCR"), "CH1S")
	assert.Equal(t, uint8(16), ch1s.Offset)
	assert.Equal(t, regs.WriteOnly, ch1s.Access, "field access from the register")
	assert.Equal(t, uint8(5), flatField(t, flatRegister(t, p, "C1TO2SR"), "CH6F").Offset)

	// LPUART1 is derived from USART1.
	lp, usart := d.Peripheral("LPUART1"), d.Peripheral("USART1")
	require.NotNil(t, lp)
	assert.Equal(t, "USART1", lp.DerivedFrom)
	assert.Equal(t, uint64(0x40008000), lp.BaseAddress)
	assert.Equal(t, usart.Description, lp.Description)
	assert.Equal(t, len(usart.Registers), len(lp.Registers))
	assert.Equal(t, []Interrupt{{Name: "LPUART1", Description: "LPUART1 global interrupt", Value: 37, Line: lp.Interrupts[0].Line}}, lp.Interrupts)

	hsem := d.Peripheral("HSEM")
	require.NotNil(t, hsem)
	assert.Equal(t, uint64(0x58001400), hsem.BaseAddress)
	r0 := hsem.Register("R0")
	assert.Equal(t, 31, r0.Field("LOCK").BitOffset)
	assert.Equal(t, 8, r0.Field("COREID").BitOffset)
	assert.Equal(t, 4, r0.Field("COREID").BitWidth)
}

func TestVendorRP2040(t *testing.T) {
	d := parseVendor(t, "RP2040.svd")
	assert.Equal(t, "RP2040", d.Name)
	assert.Equal(t, "Raspberry Pi", d.Vendor)
	assert.Equal(t, RegisterProperties{Size: 32, Access: regs.ReadWrite, ResetValue: 0, ResetMask: 0xFFFFFFFF}, d.Defaults)

	sio := d.Peripheral("SIO")
	require.NotNil(t, sio)
	assert.Equal(t, uint64(0xd0000000), sio.BaseAddress)

	p := describeOne(t, d, "SIO")
	st := flatRegister(t, p, "FIFO_ST")
	assert.Equal(t, uint64(0x50), st.Offset)
	assert.Equal(t, uint64(0x2), st.Reset)
	assert.Equal(t, regs.ReadWrite, st.Access, "from the device default")
	assert.Equal(t, regs.ReadNormal, st.ReadAction)
	var names []string
	for _, f := range st.Fields {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"VLD", "RDY", "WOF", "ROE"}, names, "sorted by bit offset")
	roe := flatField(t, st, "ROE")
	assert.Equal(t, uint8(3), roe.Offset)
	assert.Equal(t, uint8(1), roe.Width)
	assert.Equal(t, regs.OneToClear, roe.WriteEffect)
	assert.Equal(t, regs.ReadOnly, flatField(t, st, "VLD").Access)

	wr := flatRegister(t, p, "FIFO_WR")
	assert.Equal(t, uint64(0x54), wr.Offset)
	assert.Equal(t, regs.WriteOnly, flatField(t, wr, "FIFO_WR").Access)
	assert.Equal(t, uint8(32), flatField(t, wr, "FIFO_WR").Width)

	rd := flatRegister(t, p, "FIFO_RD")
	assert.Equal(t, uint64(0x58), rd.Offset)
	assert.Equal(t, uint64(0), rd.ResetMask, "the reset value of the FIFO is undefined")
	assert.Equal(t, regs.ReadModify, rd.ReadAction, "a field's readAction marks the register")
	assert.Equal(t, regs.ReadOnly, flatField(t, rd, "FIFO_RD").Access)

	lock := flatRegister(t, p, "SPINLOCK0")
	assert.Equal(t, uint64(0x100), lock.Offset)
	assert.Equal(t, regs.ReadModify, lock.ReadAction)

	// UART1 is derived from UART0.
	u1 := d.Peripheral("UART1")
	require.NotNil(t, u1)
	assert.Equal(t, "UART0", u1.DerivedFrom)
	assert.Equal(t, uint64(0x40038000), u1.BaseAddress)
	assert.Equal(t, regNames(d.Peripheral("UART0").Registers), regNames(u1.Registers))
	require.Len(t, u1.Interrupts, 1)
	assert.Equal(t, 21, u1.Interrupts[0].Value)

	// An enumerated value.
	auxsrc := d.Peripheral("CLOCKS").Register("CLK_GPOUT0_CTRL").Field("AUXSRC")
	assert.Equal(t, 5, auxsrc.BitOffset)
	assert.Equal(t, 4, auxsrc.BitWidth)
	vals := auxsrc.ReadValues()
	require.Len(t, vals, 11)
	assert.Equal(t, "clk_ref", vals[10].Name)
	assert.Equal(t, uint64(10), vals[10].Value)
}

func TestVendorNRF5340(t *testing.T) {
	d := parseVendor(t, "nrf5340_application.svd")
	assert.Equal(t, "nrf5340_application", d.Name)

	ns, s := d.Peripheral("IPC_NS"), d.Peripheral("IPC_S")
	require.NotNil(t, ns)
	require.NotNil(t, s)
	assert.Equal(t, uint64(0x4002A000), ns.BaseAddress)
	assert.Equal(t, "IPC", ns.HeaderStructName)
	assert.Equal(t, "IPC_NS", s.DerivedFrom)
	assert.Equal(t, uint64(0x5002A000), s.BaseAddress)
	assert.Equal(t, "Interprocessor communication 1", s.Description)
	assert.Equal(t, "IPC", s.HeaderStructName, "copied from IPC_NS")
	assert.Equal(t, regNames(ns.Registers), regNames(s.Registers))

	// A [%s] array stays one element.
	send := s.Register("TASKS_SEND")
	require.NotNil(t, send)
	assert.Equal(t, "TASKS_SEND[%s]", send.RawName)
	require.NotNil(t, send.Dim)
	assert.Equal(t, 16, send.Dim.Count)
	assert.Equal(t, uint64(4), send.Dim.Increment)
	assert.Equal(t, regs.WriteOnly, send.Access)
	assert.Equal(t, uint64(0x510), s.Register("SEND_CNF").AddressOffset)

	p := describeOne(t, d, "IPC_S")
	for _, tc := range []struct {
		name   string
		offset uint64
		access regs.Access
	}{
		{"TASKS_SEND[0]", 0x000, regs.WriteOnly},
		{"TASKS_SEND[15]", 0x03C, regs.WriteOnly},
		{"SUBSCRIBE_SEND[1]", 0x084, regs.ReadWrite},
		{"EVENTS_RECEIVE[0]", 0x100, regs.ReadWrite},
		{"PUBLISH_RECEIVE[15]", 0x1BC, regs.ReadWrite},
		{"INTEN", 0x300, regs.ReadWrite},
		{"INTENCLR", 0x308, regs.ReadWrite},
		{"INTPEND", 0x30C, regs.ReadOnly},
		{"SEND_CNF[3]", 0x51C, regs.ReadWrite},
		{"RECEIVE_CNF[0]", 0x590, regs.ReadWrite},
		{"GPMEM[1]", 0x614, regs.ReadWrite},
	} {
		r := flatRegister(t, p, tc.name)
		assert.Equal(t, tc.offset, r.Offset, tc.name)
		assert.Equal(t, tc.access, r.Access, tc.name)
	}
	assert.Equal(t, uint64(0x1000), p.Size, "the address block, past the last register at 0x614")
	en := flatField(t, flatRegister(t, p, "SUBSCRIBE_SEND[0]"), "EN")
	assert.Equal(t, uint8(31), en.Offset)
	assert.Equal(t, []regs.EnumValue{
		{Name: "Disabled", Description: "Disable subscription", Value: 0},
		{Name: "Enabled", Description: "Enable subscription", Value: 1},
	}, en.Enums)
	chidx := flatField(t, flatRegister(t, p, "SUBSCRIBE_SEND[0]"), "CHIDX")
	assert.Equal(t, uint8(0), chidx.Offset)
	assert.Equal(t, uint8(8), chidx.Width)

	// INTENCLR's fields have a read and a write container.
	recv0 := s.Register("INTENCLR").Field("RECEIVE0")
	require.Len(t, recv0.Enums, 2)
	assert.Equal(t, "write", recv0.Enums[1].Usage)
	assert.Equal(t, "Clear", recv0.Enums[1].Values[0].Name)
	assert.Len(t, recv0.ReadValues(), 2)

	// Nested cluster arrays.
	cd := d.Peripheral("CACHEDATA_S")
	require.NotNil(t, cd)
	set := cd.Cluster("SET")
	require.NotNil(t, set)
	assert.Equal(t, 256, set.Dim.Count)
	assert.Equal(t, uint64(0x20), set.Dim.Increment)
	require.Len(t, set.Clusters, 1)
	assert.Equal(t, 2, set.Clusters[0].Dim.Count)
	flat := describeOne(t, d, "CACHEDATA_S")
	last := flatRegister(t, flat, "SET[255].WAY[1].DATA3")
	assert.Equal(t, uint64(255*0x20+0x10+0xC), last.Offset)
	assert.Equal(t, uint64(0x2000), flat.Size)

	// "read-writeonce" is read-writeOnce.
	otp := d.Peripheral("UICR_S").Register("OTP")
	require.NotNil(t, otp)
	assert.Equal(t, 192, otp.Dim.Count)
	assert.Equal(t, regs.ReadWriteOnce, otp.Field("LOWER").Access)
	assert.Equal(t, 15, otp.Field("LOWER").Msb())

	// A register-level modifiedWriteValues reaches the fields.
	errsrc := d.Peripheral("TWIM0_NS").Register("ERRORSRC")
	assert.Equal(t, uint64(0x4C4), errsrc.AddressOffset)
	assert.Equal(t, regs.OneToClear, errsrc.WriteEffect)
	assert.Equal(t, regs.OneToClear, errsrc.Field("OVERRUN").WriteEffect)
}

func BenchmarkParseVendor(b *testing.B) {
	dir := testenv.SharedDir(b, "svd")
	for _, name := range vendorFiles {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseFile(filepath.Join(dir, name)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
