package regstest_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/leakcheck"
	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/regs/ipcu"
	"github.com/ipcu/ipcu/regs/regstest"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestBusRecords(t *testing.T) {
	b := regstest.NewBus(16)
	b.Poke(8, 64, 0x1122334455667788)
	assert.Empty(t, b.Trace(), "Poke is not an access")
	assert.Equal(t, uint32(0x55667788), b.Read32(8))
	b.Write16(2, 0xbeef)
	assert.Equal(t, uint8(0xef), b.Read8(2))
	assert.Equal(t, []regstest.Access{
		{Offset: 8, Bits: 32, Value: 0x55667788},
		{Write: true, Offset: 2, Bits: 16, Value: 0xbeef},
		{Offset: 2, Bits: 8, Value: 0xef},
	}, b.Trace())
	assert.Empty(t, b.Trace(), "Trace forgets")
	assert.Panics(t, func() { b.Read32(14) })
	assert.Panics(t, func() { b.Write64(4, 0) })
}

// recorder is a testing.TB that collects errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); panic(r) }

func check(t *testing.T, g regstest.Generated) []string {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		regstest.CheckGenerated(r, g)
	}()
	return r.errs
}

func ipcuGenerated(desc *regs.Description, fields map[string]any) regstest.Generated {
	return regstest.Generated{
		SVD:         "../ipcu/ipcu.svd",
		Description: desc,
		Maps:        map[string]func(regs.Bus) (any, error){"IPCU": func(b regs.Bus) (any, error) { return ipcu.New(b, 0) }},
		Fields:      fields,
	}
}

func TestCheckGeneratedFindsMistakes(t *testing.T) {
	fields := map[string]any{"IPCU/CTRL": ipcu.CTRL, "IPCU/MBOX[0].STATUS": ipcu.MBOX_STATUS}
	errs := check(t, ipcuGenerated(ipcu.Description, fields))
	// Only the registers without a field set are reported.
	for _, e := range errs {
		assert.Contains(t, e, "no field set")
	}
	require.NotEmpty(t, errs)

	// A description that differs from the SVD.
	d := *ipcu.Description
	d.Peripherals = append([]regs.Peripheral(nil), d.Peripherals...)
	d.Peripherals[0].Registers = append([]regs.Register(nil), d.Peripherals[0].Registers...)
	d.Peripherals[0].Registers[0].Reset = 0
	errs = check(t, ipcuGenerated(&d, fields))
	assert.Contains(t, errs[0], "Description differs")

	// A field set with a field at the wrong place.
	bad := ipcu.CTRL
	bad.EN.Shift = 3
	errs = check(t, ipcuGenerated(ipcu.Description, map[string]any{"IPCU/CTRL": bad}))
	assert.Contains(t, errs[0], "IPCU/CTRL.EN: bits [3+1], the SVD says [0+1]")

	// An SVD that does not exist.
	g := ipcuGenerated(ipcu.Description, fields)
	g.SVD = "missing.svd"
	errs = check(t, g)
	assert.Contains(t, errs[0], "missing.svd")
}
