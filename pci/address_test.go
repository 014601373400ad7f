package pci

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckAddress(t *testing.T) {
	for _, a := range []string{"0000:00:03.0", "0000:ff:1f.7", "10000:00:00.0", "ffffffff:00:01.1", "0000:0A:1F.7"} {
		assert.NoError(t, CheckAddress(a), a)
	}
	for _, a := range []string{
		"", "0000:00:03", "0000:00:03.8", "0000:00:20.0", "000:00:03.0", "000000000:00:03.0",
		"0000:0g:03.0", "0000-00:03.0", "0000:00:03.0/", "../../../../etc", "0000:00:03.0/../..",
		"0000:00:03.0\x00", " 0000:00:03.0",
	} {
		assert.ErrorIs(t, CheckAddress(a), ErrAddress, "%q", a)
	}
}

// TestOperationsCheckAddress: Lookup, Bind and Unbind refuse a string that
// is not an address before they make a path of it (a file planted where
// "../.." would lead is left alone).
func TestOperationsCheckAddress(t *testing.T) {
	root := t.TempDir()
	b := &Bus{Root: root}
	evil := "../../../victim"
	_, err := b.Lookup(evil)
	assert.ErrorIs(t, err, ErrAddress)
	_, err = b.Bind(evil, "vfio-pci")
	assert.ErrorIs(t, err, ErrAddress)
	assert.ErrorIs(t, b.Unbind(evil), ErrAddress)
	_, err = b.Bind("0000:00:03.0", "../x")
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrAddress)
}
