package sys

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// infoCapHeaderSize is the size of struct vfio_info_cap_header.
const infoCapHeaderSize = 8

// ErrBadCaps is wrapped by every error of ParseCaps and of the capability
// decoders: the kernel's buffer does not hold what it says it holds.
var ErrBadCaps = errors.New("malformed capability chain")

// A Cap is one capability of a VFIO info chain.
type Cap struct {
	// ID and Version are those of the capability's header.
	ID      uint16
	Version uint16
	// Offset is where the header starts in the info buffer.
	Offset uint32
	// Data is the capability, header included: from Offset up to the next
	// capability that follows it in the buffer, or to the end of the
	// buffer. It aliases the buffer given to ParseCaps.
	Data []byte
}

// ParseCaps walks the capability chain of a VFIO info buffer (what
// DeviceGetRegionInfo and IOMMUGetInfo return), starting at first, the
// info structure's cap_offset; 0 means no chain. Every offset read from buf
// is checked: a header must lie wholly inside buf, and each next offset
// must be beyond the header it is read from, as the kernel appends
// capabilities in increasing order; so ParseCaps always ends, and it never
// panics. Errors wrap ErrBadCaps.
func ParseCaps(buf []byte, first uint32) ([]Cap, error) {
	var caps []Cap
	off := uint64(first)
	for off != 0 {
		if off+infoCapHeaderSize > uint64(len(buf)) {
			return nil, fmt.Errorf("capability at %#x: header beyond the %d-byte buffer: %w", off, len(buf), ErrBadCaps)
		}
		h := buf[off:]
		c := Cap{
			ID:      binary.NativeEndian.Uint16(h[0:]),
			Version: binary.NativeEndian.Uint16(h[2:]),
			Offset:  uint32(off),
		}
		next := uint64(binary.NativeEndian.Uint32(h[4:]))
		end := uint64(len(buf))
		if next != 0 {
			if next < off+infoCapHeaderSize {
				return nil, fmt.Errorf("capability %d at %#x: next %#x goes back into or before its header: %w", c.ID, off, next, ErrBadCaps)
			}
			if next < end {
				end = next
			}
		}
		c.Data = buf[off:end:end]
		caps = append(caps, c)
		off = next
	}
	return caps, nil
}

// FindCap returns the first capability of caps with the given id.
func FindCap(caps []Cap, id uint16) (Cap, bool) {
	for _, c := range caps {
		if c.ID == id {
			return c, true
		}
	}
	return Cap{}, false
}

// SparseMmapAreas decodes a VFIO_REGION_INFO_CAP_SPARSE_MMAP capability:
// the areas of the region that may be mapped. It checks that the number of
// areas the capability claims fits in it.
func SparseMmapAreas(c Cap) ([]RegionSparseMmapArea, error) {
	raw, err := array(c, VFIO_REGION_INFO_CAP_SPARSE_MMAP, "sparse mmap")
	if err != nil {
		return nil, err
	}
	out := make([]RegionSparseMmapArea, len(raw))
	for i, r := range raw {
		out[i] = RegionSparseMmapArea{Offset: r[0], Size: r[1]}
	}
	return out, nil
}

// IOVARanges decodes a VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE capability: the
// ranges of IOVAs the IOMMU accepts. It checks that the number of ranges
// the capability claims fits in it, and that each range has start <= end.
func IOVARanges(c Cap) ([]IOVARange, error) {
	raw, err := array(c, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, "iova range")
	if err != nil {
		return nil, err
	}
	out := make([]IOVARange, len(raw))
	for i, r := range raw {
		if r[0] > r[1] {
			return nil, fmt.Errorf("iova range %d: start %#x beyond end %#x: %w", i, r[0], r[1], ErrBadCaps)
		}
		out[i] = IOVARange{Start: r[0], End: r[1]}
	}
	return out, nil
}

// array decodes the layout that both the sparse mmap and the IOVA range
// capabilities have: a header, a __u32 count, a __u32 reserved, then count
// pairs of __u64.
func array(c Cap, id uint16, what string) ([][2]uint64, error) {
	const fixed = infoCapHeaderSize + 8
	if c.ID != id {
		return nil, fmt.Errorf("%s capability: id is %d, not %d: %w", what, c.ID, id, ErrBadCaps)
	}
	if len(c.Data) < fixed {
		return nil, fmt.Errorf("%s capability: %d bytes, need %d: %w", what, len(c.Data), fixed, ErrBadCaps)
	}
	n := uint64(binary.NativeEndian.Uint32(c.Data[infoCapHeaderSize:]))
	if avail := uint64(len(c.Data)-fixed) / 16; n > avail {
		return nil, fmt.Errorf("%s capability: %d entries, room for %d: %w", what, n, avail, ErrBadCaps)
	}
	out := make([][2]uint64, n)
	for i := range out {
		p := c.Data[fixed+16*i:]
		out[i] = [2]uint64{binary.NativeEndian.Uint64(p), binary.NativeEndian.Uint64(p[8:])}
	}
	return out, nil
}
