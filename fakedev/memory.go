package fakedev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Perm is what the block may do through a mapping of its DMA address space
// (docs/ipcu.md 9.1, 13.11).
type Perm uint8

// Permissions of a mapping.
const (
	// PermRead lets the engine read: descriptor fetch, TX payload.
	PermRead Perm = 1 << iota
	// PermWrite lets the engine write: RX payload, write-back words.
	PermWrite
	// PermRW is what descriptor rings need.
	PermRW = PermRead | PermWrite
)

// String returns "r", "w", "rw" or "none".
func (p Perm) String() string {
	switch p {
	case 0:
		return "none"
	case PermRead:
		return "r"
	case PermWrite:
		return "w"
	case PermRW:
		return "rw"
	}
	return fmt.Sprintf("Perm(%#x)", uint8(p))
}

const (
	// IOVABase is the first device address Alloc hands out; addresses
	// below it are never allocated, so 0 is never a buffer's address.
	IOVABase = 0x1000_0000
	// MaxAlloc is the largest buffer Alloc makes.
	MaxAlloc = 1 << 30
)

// pageSize is the granule of allocations and of the IOVA allocator.
var pageSize = unix.Getpagesize()

// A Buffer is DMA memory of one core: real shared anonymous memory
// (mmap), seen by the CPU through Bytes and by the block at Addr, where it
// is mapped read-write when allocated. Its device range is followed by an
// unmapped guard page, so an overrun faults.
//
// The driver writes descriptors and payloads with plain stores and
// publishes them with a PROD write; it reads what the engine wrote after
// reading CONS, or after Load32 of a write-back word, which the engine
// stores atomically (docs/ipcu.md 9.5).
type Buffer struct {
	d    *Device
	core int
	mem  []byte // the whole mmap, page-rounded; nil once freed
	size int
	addr uint64
	span uint64 // device range reserved: rounded size + guard page
}

// Alloc allocates size bytes of DMA memory for the core, whose device
// address is a multiple of align (0 or a power of two; at least a page),
// and maps it read-write for the block. Free, or the device's Close,
// releases it.
func (c *Core) Alloc(size, align int) (*Buffer, error) {
	return c.d.alloc(c.id, size, align)
}

// Bytes returns the CPU's view of the buffer: size bytes. It must not be
// used after Free or the device's Close.
func (b *Buffer) Bytes() []byte {
	if b.mem == nil {
		return nil
	}
	return b.mem[:b.size:b.size]
}

// Addr returns the buffer's device address: what descriptors and the
// BASE and WB registers hold.
func (b *Buffer) Addr() uint64 { return b.addr }

// Size returns the size asked of Alloc.
func (b *Buffer) Size() int { return b.size }

// Core returns the id of the core that allocated the buffer.
func (b *Buffer) Core() int { return b.core }

// Load32 atomically reads the little-endian 32-bit word at byte offset off
// (a multiple of 4): the way to poll a write-back word.
func (b *Buffer) Load32(off int) uint32 {
	return fromLE32(atomic.LoadUint32(b.word(off)))
}

// Store32 atomically writes the little-endian 32-bit word at byte offset
// off (a multiple of 4).
func (b *Buffer) Store32(off int, v uint32) {
	atomic.StoreUint32(b.word(off), toLE32(v))
}

func (b *Buffer) word(off int) *uint32 {
	if off < 0 || off%4 != 0 || off+4 > b.size || b.mem == nil {
		panic(fmt.Sprintf("fakedev: word at offset %d of a buffer of %d bytes", off, b.size))
	}
	return (*uint32)(unsafe.Pointer(&b.mem[off]))
}

// Protect changes the block's access to the whole buffer (its pages) at
// its device address: PermRW, PermRead, PermWrite, or 0 to unmap it.
func (b *Buffer) Protect(p Perm) error {
	d := b.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.mem == nil {
		return errors.New("fakedev: Protect of a freed buffer")
	}
	d.iommu.unmap(b.addr, uint64(len(b.mem)))
	if p == 0 {
		return nil
	}
	return d.iommu.mapMem(b.addr, b.mem, p, b)
}

// Free unmaps the buffer, every mapping of its memory included, and
// releases it. Free is idempotent; after it, Bytes returns nil.
func (b *Buffer) Free() error {
	d := b.d
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.iommu.free(b)
}

// Map makes the block see mem at device addresses [addr, addr+len(mem))
// with permission p. mem may be (part of) a Buffer, to map it a second
// time or again after Unmap, or other memory, which the mapping keeps
// alive. addr and the CPU address of mem must be equal modulo 8, so that
// the engine's write-back words are aligned; the range must not wrap past
// 2^64 nor overlap a mapping.
func (d *Device) Map(addr uint64, mem []byte, p Perm) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("fakedev: Map on a closed device")
	}
	if p == 0 || p&^PermRW != 0 {
		return fmt.Errorf("fakedev: Map with permission %v", p)
	}
	if len(mem) == 0 {
		return errors.New("fakedev: Map of no memory")
	}
	if uint64(uintptr(unsafe.Pointer(&mem[0])))%8 != addr%8 {
		return fmt.Errorf("fakedev: Map at %#x of memory not aligned like it (modulo 8)", addr)
	}
	return d.iommu.mapMem(addr, mem, p, d.iommu.owner(mem))
}

// Unmap removes every translation of [addr, addr+size): mappings are cut
// where the range ends. Unmapping unmapped space does nothing.
func (d *Device) Unmap(addr uint64, size int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if size <= 0 || addr+uint64(size)-1 < addr {
		return fmt.Errorf("fakedev: Unmap of %d bytes at %#x", size, addr)
	}
	d.iommu.unmap(addr, uint64(size))
	return nil
}

// iommu is the block's DMA address space: mappings sorted by address,
// disjoint, and the live buffers. The device's lock guards it.
type iommu struct {
	maps    []mapping
	bufs    map[*Buffer]struct{}
	scratch [][]byte // translate's results
}

// mapping translates [addr, addr+len(mem)) to mem.
type mapping struct {
	addr  uint64
	mem   []byte
	perm  Perm
	owner *Buffer // the buffer mem belongs to, nil for other memory
}

func (m *mapping) last() uint64 { return m.addr + uint64(len(m.mem)) - 1 }

func (d *Device) alloc(core, size, align int) (*Buffer, error) {
	if size <= 0 || size > MaxAlloc {
		return nil, fmt.Errorf("fakedev: Alloc of %d bytes (1 to %d)", size, MaxAlloc)
	}
	if align < 0 || align&(align-1) != 0 || align > MaxAlloc {
		return nil, fmt.Errorf("fakedev: Alloc aligned to %d, not 0 or a power of two up to %d", align, MaxAlloc)
	}
	align = max(align, pageSize)
	rounded := (size + pageSize - 1) &^ (pageSize - 1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("fakedev: Alloc on a closed device")
	}
	span := uint64(rounded + pageSize)
	addr, ok := d.iommu.place(span, uint64(align))
	if !ok {
		return nil, fmt.Errorf("fakedev: no device addresses left for %d bytes", size)
	}
	mem, err := unix.Mmap(-1, 0, rounded, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANON)
	if err != nil {
		return nil, fmt.Errorf("fakedev: Alloc of %d bytes: %w", size, os.NewSyscallError("mmap", err))
	}
	b := &Buffer{d: d, core: core, mem: mem, size: size, addr: addr, span: span}
	if d.iommu.bufs == nil {
		d.iommu.bufs = make(map[*Buffer]struct{})
	}
	d.iommu.bufs[b] = struct{}{}
	if err := d.iommu.mapMem(addr, mem, PermRW, b); err != nil {
		_ = d.iommu.free(b)
		return nil, err
	}
	return b, nil
}

// place finds the lowest device address from IOVABase, aligned to align,
// where span bytes overlap neither a buffer's reservation nor a mapping.
func (m *iommu) place(span, align uint64) (uint64, bool) {
	type iv struct{ lo, hi uint64 } // [lo, hi]
	used := make([]iv, 0, len(m.bufs)+len(m.maps))
	for b := range m.bufs {
		used = append(used, iv{b.addr, b.addr + b.span - 1})
	}
	for i := range m.maps {
		used = append(used, iv{m.maps[i].addr, m.maps[i].last()})
	}
	sort.Slice(used, func(i, j int) bool { return used[i].lo < used[j].lo })
	a := (IOVABase + align - 1) &^ (align - 1)
	for _, u := range used {
		if u.hi < a {
			continue
		}
		if a+span-1 < u.lo {
			break
		}
		a = (u.hi + align) &^ (align - 1) // u.hi + 1 rounded up
		if a == 0 || a < u.hi {
			return 0, false
		}
	}
	if a+span-1 < a {
		return 0, false
	}
	return a, true
}

// owner returns the live buffer whose memory holds mem, or nil.
func (m *iommu) owner(mem []byte) *Buffer {
	lo := uintptr(unsafe.Pointer(&mem[0]))
	for b := range m.bufs {
		base := uintptr(unsafe.Pointer(&b.mem[0]))
		if lo >= base && lo-base+uintptr(len(mem)) <= uintptr(len(b.mem)) {
			return b
		}
	}
	return nil
}

// mapMem inserts a mapping.
func (m *iommu) mapMem(addr uint64, mem []byte, p Perm, owner *Buffer) error {
	nm := mapping{addr: addr, mem: mem, perm: p, owner: owner}
	if nm.last() < addr {
		return fmt.Errorf("fakedev: Map of %d bytes at %#x wraps past 2^64", len(mem), addr)
	}
	i := sort.Search(len(m.maps), func(i int) bool { return m.maps[i].last() >= addr })
	if i < len(m.maps) && m.maps[i].addr <= nm.last() {
		return fmt.Errorf("fakedev: Map of [%#x, %#x] overlaps the mapping at %#x", addr, nm.last(), m.maps[i].addr)
	}
	m.maps = append(m.maps, mapping{})
	copy(m.maps[i+1:], m.maps[i:])
	m.maps[i] = nm
	return nil
}

// unmap removes the translations of [addr, addr+n), n > 0, no wrap.
func (m *iommu) unmap(addr, n uint64) {
	last := addr + n - 1
	out := m.maps[:0:0]
	for _, mp := range m.maps {
		if mp.last() < addr || mp.addr > last {
			out = append(out, mp)
			continue
		}
		if mp.addr < addr {
			left := mp
			left.mem = mp.mem[:addr-mp.addr]
			out = append(out, left)
		}
		if mp.last() > last {
			right := mp
			right.addr = last + 1
			right.mem = mp.mem[last+1-mp.addr:]
			out = append(out, right)
		}
	}
	m.maps = out
}

// free removes every mapping of b's memory and unmaps it.
func (m *iommu) free(b *Buffer) error {
	if b.mem == nil {
		return nil
	}
	out := m.maps[:0]
	for _, mp := range m.maps {
		if mp.owner != b {
			out = append(out, mp)
		}
	}
	clear(m.maps[len(out):])
	m.maps = out
	delete(m.bufs, b)
	mem := b.mem
	b.mem = nil
	if err := unix.Munmap(mem); err != nil {
		return fmt.Errorf("fakedev: Free: %w", os.NewSyscallError("munmap", err))
	}
	return nil
}

// release frees every buffer and drops every mapping (Device.Close).
func (m *iommu) release() error {
	var errs []error
	for b := range m.bufs {
		errs = append(errs, m.free(b))
	}
	m.maps = nil
	m.resetScratch()
	return errors.Join(errs...)
}

// translate checks that [addr, addr+n), n > 0, is mapped with permission
// p and returns its CPU memory, one slice per mapping it crosses. A range
// that wraps past 2^64 is a fault. The slices live in a scratch array that
// the engine empties after each decision (resetScratch), so that a packet
// costs no allocation.
func (m *iommu) translate(addr uint64, n int, p Perm) ([][]byte, bool) {
	last := addr + uint64(n) - 1
	if last < addr {
		return nil, false
	}
	i := sort.Search(len(m.maps), func(i int) bool { return m.maps[i].last() >= addr })
	start := len(m.scratch)
	for cur := addr; ; i++ {
		if i >= len(m.maps) {
			break
		}
		mp := &m.maps[i]
		if mp.addr > cur || mp.perm&p != p {
			break
		}
		end := min(mp.last(), last)
		m.scratch = append(m.scratch, mp.mem[cur-mp.addr:end-mp.addr+1])
		if end == last {
			return m.scratch[start:len(m.scratch):len(m.scratch)], true
		}
		cur = end + 1
	}
	clear(m.scratch[start:])
	m.scratch = m.scratch[:start]
	return nil, false
}

// resetScratch forgets the translations made since the last reset.
func (m *iommu) resetScratch() {
	clear(m.scratch)
	m.scratch = m.scratch[:0]
}

// gather copies translated memory into dst.
func gather(dst []byte, segs [][]byte) {
	for _, s := range segs {
		dst = dst[copy(dst, s):]
	}
}

// scatter copies src into translated memory.
func scatter(segs [][]byte, src []byte) {
	for _, s := range segs {
		src = src[copy(s, src):]
	}
}

// store32 writes a write-back word: atomically when it lies in one
// mapping, 4-byte aligned in CPU memory (Map ensures it for aligned
// device addresses).
func store32(segs [][]byte, v uint32) {
	if len(segs) == 1 && uintptr(unsafe.Pointer(&segs[0][0]))%4 == 0 {
		atomic.StoreUint32((*uint32)(unsafe.Pointer(&segs[0][0])), toLE32(v))
		return
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	scatter(segs, b[:])
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// toLE32 returns the native word whose bytes in memory are v little-endian.
func toLE32(v uint32) uint32 {
	if littleEndian {
		return v
	}
	return v>>24 | v>>8&0xff00 | v<<8&0xff0000 | v<<24
}

func fromLE32(v uint32) uint32 { return toLE32(v) }
