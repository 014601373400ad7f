package dmaring

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSPSCPending(t *testing.T) {
	size, err := RingSize(4, 32)
	require.NoError(t, err)
	mem, _ := alignedMem(size)
	s, err := InitSPSC(mem, 4, 32)
	require.NoError(t, err)
	p, c := s.Producer(), s.Consumer()
	buf := make([]byte, 16)
	assert.Zero(t, p.Pending())
	for lap := range 3 {
		for i := range 4 {
			require.NoError(t, p.Enqueue([]byte{byte(i)}))
			assert.Equal(t, i+1, p.Pending(), "lap %d", lap)
		}
		for i := range 4 {
			_, err := c.Dequeue(buf)
			require.NoError(t, err)
			assert.Equal(t, 3-i, p.Pending(), "lap %d", lap)
		}
	}
	require.NoError(t, p.Enqueue([]byte{1}))
	require.NoError(t, p.Enqueue([]byte{2}))
	_, err = c.Dequeue(buf)
	require.NoError(t, err)
	assert.Equal(t, 1, p.Pending())
}

func TestMPMCPending(t *testing.T) {
	size, err := RingSize(4, 32)
	require.NoError(t, err)
	mem, _ := alignedMem(size)
	m, err := InitMPMC(mem, 4, 32)
	require.NoError(t, err)
	buf := make([]byte, 16)
	for lap := range 3 {
		for i := range 4 {
			require.NoError(t, m.Enqueue([]byte{byte(i)}))
			assert.Equal(t, i+1, m.Pending(), "lap %d", lap)
		}
		for i := range 4 {
			_, err := m.Dequeue(buf)
			require.NoError(t, err)
			assert.Equal(t, 3-i, m.Pending(), "lap %d", lap)
		}
	}
}

// A side that stopped between its slot's stamp and publishing its
// position: the handle that takes over resumes after the stamp, neither
// repeating a message nor taking the ring for broken.
func TestSPSCTakeOverUnpublished(t *testing.T) {
	size, err := RingSize(4, 32)
	require.NoError(t, err)
	mem, _ := alignedMem(size)
	s, err := InitSPSC(mem, 4, 32)
	require.NoError(t, err)
	p, c := s.Producer(), s.Consumer()
	buf := make([]byte, 16)
	for i := range 6 { // past a lap
		require.NoError(t, p.Enqueue([]byte{byte(i)}))
		_, err := c.Dequeue(buf)
		require.NoError(t, err)
	}
	// Both die after a stamp, before the index store: the producer
	// filled positions 6 and 7, the consumer freed 6.
	require.NoError(t, p.put([]byte{6}, true))
	require.NoError(t, p.put([]byte{7}, true))
	_, err = c.get(buf, true)
	require.NoError(t, err)

	s2, err := AttachSPSC(mem)
	require.NoError(t, err)
	p2, c2 := s2.Producer(), s2.Consumer()
	assert.EqualValues(t, 8, p2.pos, "the producer resumes after its last stamp")
	assert.EqualValues(t, 7, c2.pos, "the consumer resumes after the slot it freed")
	require.NoError(t, p2.Enqueue([]byte{8}))
	for want := byte(7); want <= 8; want++ {
		n, err := c2.Dequeue(buf)
		require.NoError(t, err)
		require.Equal(t, []byte{want}, buf[:n])
	}
	_, err = c2.Dequeue(buf)
	assert.ErrorIs(t, err, ErrEmpty)
	assert.NoError(t, s2.Err())
}
