package uio

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/irq"
)

func TestList(t *testing.T) {
	fs := newFakeSys(t)
	fs.standard()
	got, err := List(fs.opts())
	require.NoError(t, err)
	require.Len(t, got, 2)
	for i := range got {
		got[i].dir = ""
	}
	dev := filepath.Join(fs.root, "dev")
	assert.Equal(t, []Info{
		{
			Name: "ipcu-mailbox", Version: "0.01.0", Number: 0, Node: filepath.Join(dev, "uio0"),
			Maps: []Map{
				{Index: 0, Name: "regs", Addr: 0x1c00000, Size: 0x1000, Offset: 0},
				{Index: 1, Name: "", Addr: 0x1c02100, Size: 0x100, Offset: 0x100},
			},
			Ports: []Port{{Index: 0, Name: "ioports", Start: 0x3f8, Size: 8, Type: "port_x86"}},
		},
		{Name: "uio_pci_generic", Version: "0.01.0", Number: 1, Node: filepath.Join(dev, "uio1"), PCI: "0000:00:04.0"},
	}, got)
}

func TestListNoUIO(t *testing.T) {
	got, err := List(&Options{SysRoot: t.TempDir()})
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestListOrder(t *testing.T) {
	fs := newFakeSys(t)
	for _, n := range []int{10, 2, 1} {
		fs.device(strconv.Itoa(n), "d"+strconv.Itoa(n), "platform/d"+strconv.Itoa(n))
	}
	got, err := List(fs.opts())
	require.NoError(t, err)
	var nums []int
	for _, i := range got {
		nums = append(nums, i.Number)
	}
	assert.Equal(t, []int{1, 2, 10}, nums)
}

func TestFind(t *testing.T) {
	fs := newFakeSys(t)
	fs.standard()
	for _, name := range []string{"ipcu-mailbox", "uio0"} {
		i, err := Find(name, fs.opts())
		require.NoError(t, err, name)
		assert.Equal(t, 0, i.Number, name)
	}
	i, err := Find("uio_pci_generic", fs.opts())
	require.NoError(t, err)
	assert.Equal(t, 1, i.Number)

	for _, name := range []string{"nothing", "uio7", "uio01", ""} {
		_, err := Find(name, fs.opts())
		assert.ErrorIs(t, err, ErrNotFound, name)
		assert.ErrorIs(t, err, os.ErrNotExist, name)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(fs *fakeSys)
		file   string // the file the error must name, relative to uio0
		cause  error
	}{
		{"missing name", func(fs *fakeSys) { fs.remove("class/uio/uio0/name") }, "name", os.ErrNotExist},
		{"missing version", func(fs *fakeSys) { fs.remove("class/uio/uio0/version") }, "version", os.ErrNotExist},
		{"missing map name", func(fs *fakeSys) { fs.remove("class/uio/uio0/maps/map1/name") }, "maps/map1/name", os.ErrNotExist},
		{"missing map addr", func(fs *fakeSys) { fs.remove("class/uio/uio0/maps/map0/addr") }, "maps/map0/addr", os.ErrNotExist},
		{"missing map size", func(fs *fakeSys) { fs.remove("class/uio/uio0/maps/map0/size") }, "maps/map0/size", os.ErrNotExist},
		{"missing map offset", func(fs *fakeSys) { fs.remove("class/uio/uio0/maps/map0/offset") }, "maps/map0/offset", os.ErrNotExist},
		{"garbage addr", func(fs *fakeSys) { fs.write("class/uio/uio0/maps/map0/addr", "0xzz") }, "maps/map0/addr", ErrSyntax},
		{"empty size", func(fs *fakeSys) { fs.write("class/uio/uio0/maps/map0/size", "0x") }, "maps/map0/size", ErrSyntax},
		{"negative offset", func(fs *fakeSys) { fs.write("class/uio/uio0/maps/map0/offset", "-0x1") }, "maps/map0/offset", ErrSyntax},
		{"size beyond 64 bits", func(fs *fakeSys) { fs.write("class/uio/uio0/maps/map0/size", "0x10000000000000000") }, "maps/map0/size", ErrRange},
		{"map end beyond 64 bits", func(fs *fakeSys) {
			fs.write("class/uio/uio0/maps/map0/addr", "0xfffffffffffff000")
			fs.write("class/uio/uio0/maps/map0/size", "0x2000")
		}, "maps/map0/size", ErrRange},
		{"missing port start", func(fs *fakeSys) { fs.remove("class/uio/uio0/portio/port0/start") }, "portio/port0/start", os.ErrNotExist},
		{"garbage port size", func(fs *fakeSys) { fs.write("class/uio/uio0/portio/port0/size", "eight") }, "portio/port0/size", ErrSyntax},
		{"missing port type", func(fs *fakeSys) { fs.remove("class/uio/uio0/portio/port0/porttype") }, "portio/port0/porttype", os.ErrNotExist},
		{"port end beyond 64 bits", func(fs *fakeSys) {
			fs.write("class/uio/uio0/portio/port0/start", "0xffffffffffffffff")
		}, "portio/port0/size", ErrRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeSys(t)
			fs.standard()
			tc.break_(fs)
			for _, get := range []func() error{
				func() error { _, err := List(fs.opts()); return err },
				func() error { _, err := Find("uio0", fs.opts()); return err },
				func() error { _, err := Find("uio_pci_generic", fs.opts()); return err },
			} {
				err := get()
				var pe *ParseError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, filepath.Join(fs.root, "class/uio/uio0", tc.file), pe.Path)
				assert.ErrorIs(t, err, tc.cause)
				assert.Contains(t, err.Error(), tc.file)
			}
		})
	}
}

func TestParseHex(t *testing.T) {
	for in, want := range map[string]uint64{
		"0x0": 0, "0": 0, "0x00001000\n": 0x1000, "  0xABCdef ": 0xabcdef,
		"0XFFFFFFFFFFFFFFFF": 1<<64 - 1, "0x0000000000000000001": 1, "1c00000": 0x1c00000,
	} {
		got, err := ParseHex(in)
		require.NoError(t, err, "%q", in)
		assert.Equal(t, want, got, "%q", in)
	}
	for in, cause := range map[string]error{
		"": ErrSyntax, "0x": ErrSyntax, "\n": ErrSyntax, "0x-1": ErrSyntax, "+1": ErrSyntax,
		"0x1 2": ErrSyntax, "0xg": ErrSyntax, "0x0x1": ErrSyntax,
		"0x10000000000000000": ErrRange, "fffffffffffffffff": ErrRange,
	} {
		_, err := ParseHex(in)
		assert.ErrorIs(t, err, cause, "%q", in)
	}
}

// FuzzParseHex checks ParseHex against strconv on anything sysfs could
// hold.
func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"0x1000\n", "0xffffffffffffffff", "0x10000000000000000", "0x", "zz", " 0x1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseHex(s)
		body := strings.TrimSpace(s)
		if len(body) >= 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') {
			body = body[2:]
		}
		want, serr := strconv.ParseUint(body, 16, 64)
		// strconv takes underscores and signs only with base 0, and never
		// a second prefix: its verdict is the reference.
		switch {
		case serr == nil:
			if err != nil || got != want {
				t.Fatalf("ParseHex(%q) = %#x, %v; strconv: %#x", s, got, err, want)
			}
		case errors.Is(serr, strconv.ErrRange):
			if !errors.Is(err, ErrRange) {
				t.Fatalf("ParseHex(%q) = %#x, %v; want ErrRange", s, got, err)
			}
		default:
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("ParseHex(%q) = %#x, %v; want ErrSyntax", s, got, err)
			}
		}
	})
}

func TestCounter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		base   uint32
		totals []uint32
		counts []uint64
		stats  irq.Stats
	}{
		{"one at a time", 5, []uint32{6, 7, 8}, []uint64{1, 1, 1}, irq.Stats{Wakeups: 3, Delivered: 3}},
		{"merged", 0, []uint32{1, 4, 5}, []uint64{1, 3, 1}, irq.Stats{Wakeups: 3, Delivered: 5, Missed: 2}},
		{"wraps", 0xfffffffe, []uint32{0xffffffff, 1}, []uint64{1, 2}, irq.Stats{Wakeups: 2, Delivered: 3, Missed: 1}},
		{"no change still one", 7, []uint32{7}, []uint64{1}, irq.Stats{Wakeups: 1, Delivered: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCounter(tc.base)
			var counts []uint64
			for _, total := range tc.totals {
				counts = append(counts, c.record(total))
			}
			c.spurious()
			tc.stats.Spurious = 1
			assert.Equal(t, tc.counts, counts)
			assert.Equal(t, tc.stats, c.get())
		})
	}
}

func TestErrorIs(t *testing.T) {
	err := error(&Error{Op: "wait", Device: "/dev/uio0", Err: os.ErrDeadlineExceeded})
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.True(t, e.Timeout())
	assert.Equal(t, "uio: wait /dev/uio0: i/o timeout", err.Error())
	pe := &ParseError{Path: "/sys/x", Value: "zz", Err: ErrSyntax}
	assert.Equal(t, `uio: /sys/x: "zz": invalid syntax`, pe.Error())
}
