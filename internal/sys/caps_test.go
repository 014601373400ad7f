package sys

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// capBuf builds an info buffer: a fixed part of size bytes, then the
// capabilities given as (id, version, body), each at an 8-byte aligned
// offset and chained in order, as the kernel's vfio_info_cap_add does. It
// returns the buffer and the first capability's offset.
func capBuf(size int, caps ...capSpec) ([]byte, uint32) {
	buf := make([]byte, size)
	var prev int = -1
	first := uint32(0)
	for _, c := range caps {
		for len(buf)%8 != 0 {
			buf = append(buf, 0)
		}
		off := len(buf)
		if prev < 0 {
			first = uint32(off)
		} else {
			binary.NativeEndian.PutUint32(buf[prev+4:], uint32(off))
		}
		h := make([]byte, 8)
		binary.NativeEndian.PutUint16(h, c.id)
		binary.NativeEndian.PutUint16(h[2:], c.version)
		buf = append(buf, h...)
		buf = append(buf, c.body...)
		prev = off
	}
	return buf, first
}

type capSpec struct {
	id, version uint16
	body        []byte
}

// arrayBody is the body of a sparse mmap or IOVA range capability: a
// count, a reserved word and the pairs.
func arrayBody(count uint32, pairs ...[2]uint64) []byte {
	b := make([]byte, 8+16*len(pairs))
	binary.NativeEndian.PutUint32(b, count)
	for i, p := range pairs {
		binary.NativeEndian.PutUint64(b[8+16*i:], p[0])
		binary.NativeEndian.PutUint64(b[16+16*i:], p[1])
	}
	return b
}

func TestParseCaps(t *testing.T) {
	buf, first := capBuf(32,
		capSpec{VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, arrayBody(2, [2]uint64{0, 0x1000}, [2]uint64{0x3000, 0x1000})},
		capSpec{VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, nil},
	)
	caps, err := ParseCaps(buf, first)
	require.NoError(t, err)
	require.Len(t, caps, 2)
	assert.Equal(t, uint16(VFIO_REGION_INFO_CAP_SPARSE_MMAP), caps[0].ID)
	assert.Equal(t, uint32(32), caps[0].Offset)
	assert.Len(t, caps[0].Data, 8+8+32)
	assert.Equal(t, uint16(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE), caps[1].ID)
	assert.Len(t, caps[1].Data, 8)

	c, ok := FindCap(caps, VFIO_REGION_INFO_CAP_SPARSE_MMAP)
	require.True(t, ok)
	areas, err := SparseMmapAreas(c)
	require.NoError(t, err)
	assert.Equal(t, []RegionSparseMmapArea{{0, 0x1000}, {0x3000, 0x1000}}, areas)
	_, ok = FindCap(caps, 99)
	assert.False(t, ok)
	_, err = IOVARanges(c)
	assert.ErrorIs(t, err, ErrBadCaps, "wrong id")

	none, err := ParseCaps(buf, 0)
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestIOVARanges(t *testing.T) {
	buf, first := capBuf(24, capSpec{VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1,
		arrayBody(2, [2]uint64{0, 0xfedfffff}, [2]uint64{0xfef00000, 1<<48 - 1})})
	caps, err := ParseCaps(buf, first)
	require.NoError(t, err)
	r, err := IOVARanges(caps[0])
	require.NoError(t, err)
	assert.Equal(t, []IOVARange{{0, 0xfedfffff}, {0xfef00000, 1<<48 - 1}}, r)
}

func TestParseCapsBad(t *testing.T) {
	loop, first := capBuf(16, capSpec{1, 1, nil})
	binary.NativeEndian.PutUint32(loop[first+4:], first) // points at itself

	back, first2 := capBuf(16, capSpec{1, 1, make([]byte, 8)}, capSpec{2, 1, nil})
	binary.NativeEndian.PutUint32(back[first2+4:], first2+4) // into its own header

	for name, tc := range map[string]struct {
		buf   []byte
		first uint32
	}{
		"first beyond the buffer": {make([]byte, 16), 16},
		"header cut short":        {make([]byte, 20), 16},
		"huge first":              {make([]byte, 16), 0xffffffff},
		"self loop":               {loop, first},
		"next into header":        {back, first2},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCaps(tc.buf, tc.first)
			assert.ErrorIs(t, err, ErrBadCaps)
		})
	}
}

func TestArrayCapsBad(t *testing.T) {
	for name, c := range map[string]Cap{
		"too short":      {ID: VFIO_REGION_INFO_CAP_SPARSE_MMAP, Data: make([]byte, 12)},
		"count too high": {ID: VFIO_REGION_INFO_CAP_SPARSE_MMAP, Data: append(make([]byte, 8), arrayBody(3, [2]uint64{1, 2})...)},
		"huge count":     {ID: VFIO_REGION_INFO_CAP_SPARSE_MMAP, Data: append(make([]byte, 8), arrayBody(0xffffffff)...)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := SparseMmapAreas(c)
			assert.ErrorIs(t, err, ErrBadCaps)
		})
	}
	c := Cap{ID: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, Data: append(make([]byte, 8), arrayBody(1, [2]uint64{2, 1})...)}
	_, err := IOVARanges(c)
	assert.ErrorIs(t, err, ErrBadCaps, "start beyond end")
}

// FuzzParseCaps feeds ParseCaps, and the decoders after it, what a
// hostile or buggy kernel could return. They must not panic, and what they
// return must lie inside the buffer.
func FuzzParseCaps(f *testing.F) {
	buf, first := capBuf(32,
		capSpec{VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, arrayBody(1, [2]uint64{0, 0x1000})},
		capSpec{VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, arrayBody(1, [2]uint64{0, 0xffff})})
	f.Add(buf, first)
	f.Add([]byte{}, uint32(0))
	f.Add(make([]byte, 8), uint32(4))
	f.Fuzz(func(t *testing.T, buf []byte, first uint32) {
		caps, err := ParseCaps(buf, first)
		if err != nil {
			return
		}
		prev := -1
		for _, c := range caps {
			if int(c.Offset) <= prev || int(c.Offset)+len(c.Data) > len(buf) || len(c.Data) < infoCapHeaderSize {
				t.Fatalf("capability at %d with %d bytes in a %d-byte buffer, after %d", c.Offset, len(c.Data), len(buf), prev)
			}
			prev = int(c.Offset)
			// Both chains number their array capability 1.
			if a, err := SparseMmapAreas(c); err == nil && 16+16*len(a) > len(c.Data) {
				t.Fatalf("%d areas in %d bytes", len(a), len(c.Data))
			}
			if r, err := IOVARanges(c); err == nil && 16+16*len(r) > len(c.Data) {
				t.Fatalf("%d ranges in %d bytes", len(r), len(c.Data))
			}
		}
	})
}
