package vfio

import (
	"errors"
	"fmt"
	"math"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/internal/sys"
)

// hugePage is the huge page size DMAOptions.Hugepages uses.
const hugePage = 2 << 20

// DMA returns an allocator of DMA memory for the device. opts may be nil.
// It fails with ErrNotSupported in no-IOMMU mode, where there is no IOMMU
// to map memory in.
func (d *Device) DMA(opts *DMAOptions) (*DMAMemory, error) {
	if err := d.rlock("dma"); err != nil {
		return nil, err
	}
	defer d.mu.RUnlock()
	if d.noIOMMU {
		return nil, &Error{Op: "dma", Device: d.addr, Err: fmt.Errorf("no-IOMMU mode: %w", ErrNotSupported)}
	}
	m := &DMAMemory{dev: d, limit: limitOf(d.opts.DMALimitBits)}
	if opts != nil {
		if opts.LimitBits > 0 {
			m.limit = min(m.limit, limitOf(opts.LimitBits))
		}
		m.huge = opts.Hugepages
	}
	return m, nil
}

// Alloc returns size bytes aligned to align (a power of two; 0 means the
// page size) in both the process and the device's address space: fresh
// anonymous memory, populated and zeroed, that VFIO pins and maps
// read-write in the IOMMU. The size is rounded up to whole pages, which
// the device may all reach.
//
// Alloc reserves the IOVA first: an allocation that fits nowhere below the
// device's address limit fails with ErrNoSpace before any memory is
// touched. It then checks RLIMIT_MEMLOCK (ErrMemlock, with the remedy).
func (m *DMAMemory) Alloc(size, align int) (dmaring.Region, error) {
	d := m.dev
	const op = "dma alloc"
	if size <= 0 || align < 0 || align&(align-1) != 0 {
		return nil, &Error{Op: op, Device: d.addr, Err: fmt.Errorf("size %d, alignment %d: %w", size, align, os.ErrInvalid)}
	}
	page := d.page
	al := max(uint64(align), page)
	rounded, _ := alignUp(uint64(size), page)
	huge := m.huge && rounded >= hugePage
	if huge {
		rounded, _ = alignUp(rounded, hugePage)
		al = max(al, hugePage)
	}
	if err := d.lock(op); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	iova, err := d.iova.alloc(rounded, al, m.limit)
	if err != nil {
		return nil, &Error{Op: op, Device: d.addr, Err: err, Hint: "allocate less, or free regions first"}
	}
	r, err := m.pin(iova, rounded, al, huge)
	if err != nil {
		d.iova.free(iova)
		return nil, err
	}
	r.buf = r.buf[:size:size]
	d.dma[r] = struct{}{}
	return r, nil
}

// pin maps fresh memory and maps it in the IOMMU at iova.
func (m *DMAMemory) pin(iova, size, align uint64, huge bool) (*DMARegion, error) {
	d := m.dev
	const op = "dma alloc"
	if err := currentMemlock().check(size); err != nil {
		var e *Error
		errors.As(err, &e)
		e.Device = d.addr
		return nil, e
	}
	whole, buf, err := mmapAligned(size, align, huge)
	if err != nil {
		return nil, &Error{Op: op, Device: d.addr, Err: err}
	}
	// A fork must not give the child copy-on-write pages the device
	// writes behind the parent's back.
	_ = unix.Madvise(whole, unix.MADV_DONTFORK)
	if err := sys.IOMMUMapDMA(d.container, addrOf(buf), iova, size, sys.VFIO_DMA_MAP_FLAG_READ|sys.VFIO_DMA_MAP_FLAG_WRITE); err != nil {
		_ = unix.Munmap(whole)
		e := &Error{Op: op, Device: d.addr, Err: err}
		if errors.Is(err, unix.ENOMEM) {
			e.Hint = "the kernel could not pin the memory: raise RLIMIT_MEMLOCK (ulimit -l, LimitMEMLOCK=) or the IOMMU's dma_entry_limit"
		}
		return nil, e
	}
	return &DMARegion{mem: m, buf: buf, whole: whole, iova: iova, size: size}, nil
}

// mmapAligned maps size bytes of anonymous memory starting at a multiple of
// align, populated; it returns the mapping to munmap and the aligned part.
func mmapAligned(size, align uint64, huge bool) (whole, buf []byte, err error) {
	page := uint64(os.Getpagesize())
	extra := uint64(0)
	if align > page {
		extra = align - page
	}
	// mmap's length is an int: 32 bits on arm, where a size near 2 GiB
	// plus the alignment slack would wrap.
	if size > math.MaxInt-extra {
		return nil, nil, fmt.Errorf("%d bytes aligned to %d: more than an int holds: %w", size, align, os.ErrInvalid)
	}
	flags := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_POPULATE
	if huge {
		if mem, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, flags|unix.MAP_HUGETLB); err == nil {
			if addrOf(mem)%align == 0 {
				return mem, mem, nil
			}
			_ = unix.Munmap(mem)
		}
	}
	mem, err := unix.Mmap(-1, 0, int(size+extra), unix.PROT_READ|unix.PROT_WRITE, flags)
	if err != nil {
		return nil, nil, os.NewSyscallError("mmap", err)
	}
	a := addrOf(mem)
	start, _ := alignUp(a, align)
	skip := start - a
	return mem, mem[skip : skip+size : skip+size], nil
}

// currentMemlock reads the process's locked-memory state.
func currentMemlock() memlockState {
	var rl unix.Rlimit
	st := memlockState{infinity: unix.RLIM_INFINITY, limit: unix.RLIM_INFINITY}
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl) == nil {
		st.limit = rl.Cur
	}
	if f, err := os.Open("/proc/self/status"); err == nil {
		st.locked, st.capIPC, _ = parseStatus(f)
		f.Close()
	}
	return st
}

// Free unmaps the region from the IOMMU, then from the process. The device
// must no longer use it. Free is idempotent; after it Bytes returns nil.
func (r *DMARegion) Free() error {
	d := r.mem.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.dma[r]; !ok {
		return nil
	}
	if n := r.held.Load(); n > 0 {
		return &Error{Op: "dma free", Device: d.addr, Err: fmt.Errorf("region at IOVA %#x is held %d times: %w", r.iova, n, ErrInFlight),
			Hint: "wait for the transfer's completion (Release) before freeing"}
	}
	return d.free(r)
}

// free releases r; the caller holds the lock.
func (d *Device) free(r *DMARegion) error {
	delete(d.dma, r)
	var errs []error
	n, err := sys.IOMMUUnmapDMA(d.container, r.iova, r.size, 0)
	switch {
	case err != nil:
		errs = append(errs, err)
	case n != r.size:
		errs = append(errs, fmt.Errorf("the IOMMU unmapped %#x of %#x bytes at IOVA %#x", n, r.size, r.iova))
	}
	if err == nil && n == r.size {
		// An IOVA still mapped, even in part, must not be handed out
		// again.
		d.iova.free(r.iova)
	}
	if err := unix.Munmap(r.whole); err != nil {
		errs = append(errs, os.NewSyscallError("munmap", err))
	}
	r.buf, r.whole = nil, nil
	if err := errors.Join(errs...); err != nil {
		return &Error{Op: "dma free", Device: d.addr, Err: err}
	}
	return nil
}

// Close frees every region of this DMAMemory, held ones too (unlike
// Free, which refuses a held region with ErrInFlight): stop the device's
// transfers first. Each region is unmapped from the IOMMU before its
// memory is released, so a transfer still running faults in the IOMMU
// rather than reach memory used for something else since. The Device's
// Close frees them too.
func (m *DMAMemory) Close() error {
	d := m.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for r := range d.dma {
		if r.mem == m {
			errs = append(errs, d.free(r))
		}
	}
	return errors.Join(errs...)
}
