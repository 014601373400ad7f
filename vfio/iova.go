package vfio

import (
	"fmt"
	"sort"
)

// An IOVARange is an inclusive range of I/O virtual addresses the IOMMU
// accepts (struct vfio_iova_range).
type IOVARange struct {
	Start, End uint64
}

// iovaSpace hands out IOVAs: first fit inside the IOMMU's ranges, below a
// limit, never at 0 (a zeroed descriptor must not point at a buffer). It
// is not safe for concurrent use; the Device's mutex guards it.
type iovaSpace struct {
	ranges []IOVARange // sorted by Start
	min    uint64      // lowest IOVA handed out, a page
	used   []span      // sorted by start
}

type span struct{ start, size uint64 }

// newIOVASpace returns a space over ranges; none means all 64 bits.
func newIOVASpace(ranges []IOVARange, page uint64) *iovaSpace {
	rs := append([]IOVARange(nil), ranges...)
	if len(rs) == 0 {
		rs = []IOVARange{{0, ^uint64(0)}}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	return &iovaSpace{ranges: rs, min: page}
}

// limitOf returns the last usable IOVA under a limit of bits bits (0 or 64
// and more: no limit).
func limitOf(bits int) uint64 {
	if bits <= 0 || bits >= 64 {
		return ^uint64(0)
	}
	return 1<<uint(bits) - 1
}

// alloc reserves size bytes at an IOVA aligned to align (a power of two),
// ending at or below last. It fails with ErrNoSpace.
func (s *iovaSpace) alloc(size, align, last uint64) (uint64, error) {
	if size == 0 || align == 0 || align&(align-1) != 0 {
		return 0, fmt.Errorf("iova: size %#x, alignment %#x: %w", size, align, ErrNoSpace)
	}
	for _, r := range s.ranges {
		lo, hi := max(r.Start, s.min), min(r.End, last)
		c, ok := alignUp(lo, align)
		for ok && c <= hi && hi-c >= size-1 {
			u, clash := s.clash(c, size)
			if !clash {
				s.used = append(s.used, span{c, size})
				sort.Slice(s.used, func(i, j int) bool { return s.used[i].start < s.used[j].start })
				return c, nil
			}
			c, ok = alignUp(u.start+u.size, align)
			if u.start+u.size < u.start { // the clash ends at 2^64
				ok = false
			}
		}
	}
	return 0, fmt.Errorf("no free %#x bytes aligned to %#x at or below %#x in the IOMMU's IOVA ranges %#x: %w", size, align, last, s.ranges, ErrNoSpace)
}

// clash returns a reserved span that overlaps [c, c+size).
func (s *iovaSpace) clash(c, size uint64) (span, bool) {
	end := c + size - 1
	for _, u := range s.used {
		if u.start <= end && c <= u.start+u.size-1 {
			return u, true
		}
	}
	return span{}, false
}

// free releases the span that starts at iova.
func (s *iovaSpace) free(iova uint64) {
	for i, u := range s.used {
		if u.start == iova {
			s.used = append(s.used[:i], s.used[i+1:]...)
			return
		}
	}
}

// alignUp rounds v up to a multiple of align, reporting false on overflow.
func alignUp(v, align uint64) (uint64, bool) {
	r := (v + align - 1) &^ (align - 1)
	return r, r >= v
}
