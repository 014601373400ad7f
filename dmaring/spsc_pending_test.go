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
