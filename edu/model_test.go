package edu

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/irq"
)

// model is a software model of edu's BAR0 semantics (QEMU hw/misc/edu.c):
// liveness inversion, a factorial computed in the background, interrupt
// raise and acknowledge driving a level-triggered line, and DMA between a
// fakeMemory and the 4096-byte buffer. Unlike a plain memory bus it has
// side effects, and it records every access edu would refuse (wrong width,
// DMA outside the buffer), which a test must find empty.
type model struct {
	mu       sync.Mutex
	id       uint32
	liveness uint32
	invert   bool // false models a broken liveness register
	fact     uint32
	status   uint32
	intr     uint32
	dmaSrc   uint64
	dmaDst   uint64
	dmaCnt   uint64
	dmaCmd   uint64
	buf      [BufferSize]byte
	mask     uint64        // DMA mask
	delay    time.Duration // factorial and DMA latency
	hang     bool          // never finish a factorial or DMA
	mem      *fakeMemory
	line     *fakeLine

	bad      []string // accesses edu would refuse or abort on
	dmaProgs int      // writes to the DMA registers
	wg       sync.WaitGroup
}

func newModel() *model {
	return &model{
		id:       Ident,
		invert:   true,
		liveness: 0xffffffff, // edu reads ~0 before the first write
		mask:     1<<DefaultDMABits - 1,
		delay:    time.Millisecond,
		mem:      &fakeMemory{base: 0x100000, regions: map[uint64][]byte{}},
		line:     newFakeLine(),
	}
}

func (m *model) flag(format string, args ...any) { m.bad = append(m.bad, fmt.Sprintf(format, args...)) }

// Bad returns the refused accesses so far.
func (m *model) Bad() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.bad...)
}

// setIntr updates the interrupt status and the line's level. Called with
// m.mu held.
func (m *model) setIntr(v uint32) {
	m.intr = v
	m.line.set(v != 0)
}

func (m *model) Size() uintptr { return BAR0Size }

// width checks edu's access rule; false means edu ignores the access.
func (m *model) width(op string, off uintptr, bits int) bool {
	if (off < 0x80 && bits != 32) || (off >= 0x80 && bits != 32 && bits != 64) {
		m.flag("%s%d at %#x", op, bits, off)
		return false
	}
	return true
}

func (m *model) read(off uintptr, bits int) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.width("read", off, bits) {
		return ^uint64(0)
	}
	switch off {
	case 0x00:
		return uint64(m.id)
	case 0x04:
		return uint64(m.liveness)
	case 0x08:
		return uint64(m.fact)
	case 0x20:
		return uint64(m.status)
	case 0x24:
		return uint64(m.intr)
	case 0x80:
		return m.dmaSrc
	case 0x88:
		return m.dmaDst
	case 0x90:
		return m.dmaCnt
	case 0x98:
		return m.dmaCmd
	}
	return ^uint64(0)
}

func (m *model) write(off uintptr, bits int, v uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.width("write", off, bits) {
		return
	}
	running := m.dmaCmd&1 != 0
	switch off {
	case 0x04:
		m.liveness = uint32(v)
		if m.invert {
			m.liveness = ^uint32(v)
		}
	case 0x08:
		if m.status&1 != 0 {
			return
		}
		m.fact = uint32(v)
		m.status |= 1
		m.wg.Add(1)
		go m.compute()
	case 0x20:
		m.status = m.status&^0x80 | uint32(v)&0x80
	case 0x60:
		m.setIntr(m.intr | uint32(v))
	case 0x64:
		m.setIntr(m.intr &^ uint32(v))
	case 0x80, 0x88, 0x90, 0x98:
		m.dmaProgs++
		if running {
			return
		}
		switch off {
		case 0x80:
			m.dmaSrc = v
		case 0x88:
			m.dmaDst = v
		case 0x90:
			m.dmaCnt = v
		case 0x98:
			if v&1 == 0 {
				return
			}
			m.dmaCmd = v
			m.wg.Add(1)
			go m.dma()
		}
	default:
		m.flag("write%d to %#x", bits, off)
	}
}

func (m *model) compute() {
	defer m.wg.Done()
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hang {
		return
	}
	r := uint32(1)
	for i := m.fact; i > 0; i-- {
		r *= i
	}
	m.fact = r
	m.status &^= 1
	if m.status&0x80 != 0 {
		m.setIntr(m.intr | IRQFactorial)
	}
}

func (m *model) dma() {
	defer m.wg.Done()
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hang {
		return
	}
	n := m.dmaCnt
	inBuf := func(a uint64) []byte {
		// QEMU 7.2's check: the end strictly inside the buffer.
		if a < BufferAddr || a+n >= BufferAddr+BufferSize {
			m.flag("DMA of %d bytes at %#x outside the buffer (QEMU aborts)", n, a)
			return nil
		}
		return m.buf[a-BufferAddr : a-BufferAddr+n]
	}
	if m.dmaCmd&2 == 0 { // RAM to device
		b := inBuf(m.dmaDst)
		if b != nil {
			copy(b, m.mem.at(m.dmaSrc&m.mask, int(n)))
		}
	} else {
		b := inBuf(m.dmaSrc)
		if b != nil {
			copy(m.mem.at(m.dmaDst&m.mask, int(n)), b)
		}
	}
	m.dmaCmd &^= 1
	if m.dmaCmd&4 != 0 {
		m.setIntr(m.intr | IRQDMA)
	}
}

func (m *model) Read8(off uintptr) uint8       { return uint8(m.read(off, 8)) }
func (m *model) Read16(off uintptr) uint16     { return uint16(m.read(off, 16)) }
func (m *model) Read32(off uintptr) uint32     { return uint32(m.read(off, 32)) }
func (m *model) Read64(off uintptr) uint64     { return m.read(off, 64) }
func (m *model) Write8(off uintptr, v uint8)   { m.write(off, 8, uint64(v)) }
func (m *model) Write16(off uintptr, v uint16) { m.write(off, 16, uint64(v)) }
func (m *model) Write32(off uintptr, v uint32) { m.write(off, 32, uint64(v)) }
func (m *model) Write64(off uintptr, v uint64) { m.write(off, 64, v) }

// fakeMemory hands out regions at consecutive device addresses from base.
type fakeMemory struct {
	mu      sync.Mutex
	base    uint64
	regions map[uint64][]byte
	freed   int
}

type fakeRegion struct {
	m    *fakeMemory
	addr uint64
	b    []byte
}

func (r *fakeRegion) Bytes() []byte { return r.b }
func (r *fakeRegion) Addr() uint64  { return r.addr }
func (r *fakeRegion) Free() error {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	delete(r.m.regions, r.addr)
	r.m.freed++
	return nil
}

func (f *fakeMemory) Alloc(size, align int) (dmaring.Region, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := uint64(align)
	addr := (f.base + a - 1) &^ (a - 1)
	b := make([]byte, size)
	f.regions[addr] = b
	f.base = addr + uint64(size)
	return &fakeRegion{f, addr, b}, nil
}

// at returns the n bytes at device address addr, in one region.
func (f *fakeMemory) at(addr uint64, n int) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	for a, b := range f.regions {
		if addr >= a && addr+uint64(n) <= a+uint64(len(b)) {
			return b[addr-a : addr-a+uint64(n)]
		}
	}
	panic(fmt.Sprintf("DMA of %d bytes at unmapped device address %#x", n, addr))
}

// fakeLine is a level-triggered line masked on delivery, as UIO and VFIO
// INTx are: it counts an interrupt when the device asserts while it is
// unmasked, and masks itself until Ack.
type fakeLine struct {
	mu       sync.Mutex
	count    uint64
	masked   bool
	asserted bool
	closed   bool
	acks     int
	stats    irq.Stats
	notify   chan struct{}
}

var _ irq.Source = (*fakeLine)(nil)

func newFakeLine() *fakeLine { return &fakeLine{notify: make(chan struct{}, 1)} }

func (l *fakeLine) set(level bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asserted = level
	if level && !l.masked {
		l.fire()
	}
}

// fire counts an interrupt and masks the line. Called with l.mu held.
func (l *fakeLine) fire() {
	if l.closed {
		return
	}
	l.count++
	l.masked = true
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

func (l *fakeLine) take() uint64 {
	n := l.count
	if n > 0 {
		l.count = 0
		l.stats.Wakeups++
		l.stats.Delivered += n
		l.stats.Missed += n - 1
	}
	return n
}

func (l *fakeLine) Wait(ctx context.Context) (uint64, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return 0, fmt.Errorf("fake line: %w", os.ErrClosed)
		}
		n := l.take()
		ch := l.notify
		l.mu.Unlock()
		if n > 0 {
			return n, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return 0, fmt.Errorf("fake line: %w", os.ErrDeadlineExceeded)
			}
			return 0, ctx.Err()
		}
	}
}

func (l *fakeLine) TryWait() (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, os.ErrClosed
	}
	return l.take(), nil
}

func (l *fakeLine) Ack() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acks++
	l.masked = false
	if l.asserted {
		l.fire()
	}
	return nil
}

func (l *fakeLine) Spurious() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Spurious++
}

func (l *fakeLine) Stats() irq.Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func (l *fakeLine) FD() int { return -1 }

func (l *fakeLine) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.notify) // wakes every waiter
	}
	return nil
}
