package fakedev

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ok reports whether [addr, addr+n) translates with permission p.
func (r *rig) ok(addr uint64, n int, p Perm) bool {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	_, ok := r.d.iommu.translate(addr, n, p)
	r.d.iommu.resetScratch()
	return ok
}

// Alloc hands out page-aligned device addresses from IOVABase, never 0,
// with the alignment asked, disjoint and separated by an unmapped guard
// page; the buffer is mapped read-write; Free unmaps it, is idempotent,
// and Bytes is nil afterwards.
func TestMemoryAlloc(t *testing.T) {
	r := newRig(t, Config{Engine: EngineStep})
	page := uint64(pageSize)
	a := r.alloc(1, 100)
	b := r.alloc(2, 3*pageSize)
	c, err := r.d.Core(3).Alloc(10, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, uint64(IOVABase), a.Addr())
	assert.Len(t, a.Bytes(), 100)
	assert.Equal(t, 100, a.Size())
	assert.Equal(t, 2, b.Core())
	assert.Equal(t, a.Addr()+2*page, b.Addr(), "one page, then a guard page")
	assert.Zero(t, c.Addr()%(1<<20))
	assert.Greater(t, c.Addr(), b.Addr()+3*page)

	assert.True(t, r.ok(a.Addr(), int(page), PermRW), "the whole page is mapped")
	assert.False(t, r.ok(a.Addr(), int(page)+1, PermRead), "the guard page is not")
	assert.True(t, r.ok(b.Addr()+10, 2*pageSize, PermWrite))

	a.Bytes()[0] = 1 // real memory
	require.NoError(t, c.Free())
	assert.Nil(t, c.Bytes())
	assert.False(t, r.ok(c.Addr(), 1, PermRead))
	require.NoError(t, c.Free(), "Free is idempotent")
	d, err := r.d.Core(3).Alloc(10, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, c.Addr(), d.Addr(), "freed addresses are reused")
	require.NoError(t, d.Free())

	for _, bad := range [][2]int{{0, 0}, {-1, 0}, {MaxAlloc + 1, 0}, {10, 3}, {10, 3 * pageSize}} {
		_, err := r.d.Core(1).Alloc(bad[0], bad[1])
		assert.Error(t, err, "Alloc(%d, %d)", bad[0], bad[1])
	}
}

// Load32 and Store32 are atomic little-endian word accesses.
func TestMemoryWords(t *testing.T) {
	r := newRig(t, Config{Engine: EngineStep})
	b := r.alloc(1, 8)
	b.Store32(4, 0x04030201)
	assert.Equal(t, []byte{0, 0, 0, 0, 1, 2, 3, 4}, b.Bytes())
	assert.Equal(t, uint32(0x04030201), b.Load32(4))
	assert.Panics(t, func() { b.Load32(2) }, "unaligned")
	assert.Panics(t, func() { b.Load32(8) }, "outside")
}

// Permissions (13.11): a translation needs every permission asked on every
// byte; Protect changes them; Unmap cuts mappings; a range that wraps past
// 2^64 is a fault.
func TestMemoryPermissions(t *testing.T) {
	r := newRig(t, Config{Engine: EngineStep})
	b := r.alloc(1, 3*pageSize)
	p := uint64(pageSize)
	require.NoError(t, b.Protect(PermRead))
	assert.True(t, r.ok(b.Addr(), 16, PermRead))
	assert.False(t, r.ok(b.Addr(), 16, PermWrite))
	assert.False(t, r.ok(b.Addr(), 16, PermRW))
	require.NoError(t, b.Protect(PermWrite))
	assert.False(t, r.ok(b.Addr(), 16, PermRead))
	require.NoError(t, b.Protect(0))
	assert.False(t, r.ok(b.Addr(), 1, PermWrite))
	require.NoError(t, b.Protect(PermRW))

	// Unmap the middle page: the two others stay.
	require.NoError(t, r.d.Unmap(b.Addr()+p, pageSize))
	assert.True(t, r.ok(b.Addr(), pageSize, PermRW))
	assert.True(t, r.ok(b.Addr()+2*p, pageSize, PermRW))
	assert.False(t, r.ok(b.Addr()+p-4, 8, PermRead), "a range across the hole")
	require.NoError(t, r.d.Unmap(b.Addr()+p, pageSize), "unmapping unmapped space does nothing")

	// Map it back read-only, from the buffer's own memory: a range across
	// the three mappings needs every one to allow the access.
	require.NoError(t, r.d.Map(b.Addr()+p, b.Bytes()[pageSize:2*pageSize], PermRead))
	assert.True(t, r.ok(b.Addr(), 3*pageSize, PermRead))
	assert.False(t, r.ok(b.Addr(), 3*pageSize, PermWrite))

	// At the top of the address space.
	top := make([]byte, 64)
	require.NoError(t, r.d.Map(1<<64-64, top, PermRead))
	assert.True(t, r.ok(1<<64-64, 64, PermRead), "a range may end at 2^64")
	assert.False(t, r.ok(1<<64-32, 64, PermRead), "but not wrap past it")

	for _, bad := range []struct {
		addr uint64
		mem  []byte
		p    Perm
	}{
		{b.Addr(), b.Bytes(), PermRead},            // overlaps
		{0x100, make([]byte, 8), 0},                // no permission
		{0x100, make([]byte, 8), 4},                // unknown permission
		{0x100, nil, PermRead},                     // no memory
		{0x101, make([]byte, 8), PermRead},         // not aligned like the CPU address
		{1<<64 - 8, make([]byte, 16), PermRead},    // wraps
		{1<<64 - 128, make([]byte, 128), PermRead}, // overlaps top
	} {
		assert.Error(t, r.d.Map(bad.addr, bad.mem, bad.p), "Map(%#x, %d bytes, %v)", bad.addr, len(bad.mem), bad.p)
	}
	assert.Error(t, r.d.Unmap(1<<64-8, 16))
	assert.Error(t, r.d.Unmap(0x1000, 0))
}

// Free removes every mapping of the buffer's memory, including second
// mappings made with Map; the allocator avoids explicit mappings.
func TestMemoryAliases(t *testing.T) {
	r := newRig(t, Config{Engine: EngineStep})
	b, err := r.d.Core(1).Alloc(pageSize, 0)
	require.NoError(t, err)
	alias := uint64(IOVABase + 2*pageSize)
	require.NoError(t, r.d.Map(alias, b.Bytes(), PermRead))
	assert.True(t, r.ok(alias, pageSize, PermRead))
	c := r.alloc(1, 1)
	assert.False(t, c.Addr() <= alias && alias < c.Addr()+uint64(2*pageSize), "not over the alias")
	require.NoError(t, b.Free())
	assert.False(t, r.ok(alias, 1, PermRead))
	assert.False(t, r.ok(b.Addr(), 1, PermRead))
	assert.Error(t, b.Protect(PermRW))
}

// Close frees the buffers the tests did not free (the leak checker of
// TestMain checks that no mapping is left) and refuses new ones.
func TestMemoryClose(t *testing.T) {
	d, err := New(Config{})
	require.NoError(t, err)
	var bufs []*Buffer
	for k := 0; k < 4; k++ {
		b, err := d.Core(k).Alloc(5000, 0)
		require.NoError(t, err)
		bufs = append(bufs, b)
	}
	require.NoError(t, d.Map(0x2000, make([]byte, 16), PermRead))
	require.NoError(t, d.Close())
	for _, b := range bufs {
		assert.Nil(t, b.Bytes())
		assert.NoError(t, b.Free())
	}
	_, err = d.Core(1).Alloc(1, 0)
	assert.Error(t, err)
	assert.Error(t, d.Map(0x2000, make([]byte, 16), PermRead))
	assert.NoError(t, d.Close())
}
