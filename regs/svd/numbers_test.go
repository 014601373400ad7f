package svd

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseUint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"0", 0},
		{"42", 42},
		{" 42\n", 42},
		{"+7", 7},
		{"010", 10},
		{"0x2A", 42},
		{"0X2a", 42},
		{"0xFFFFFFFFFFFFFFFF", 1<<64 - 1},
		{"#101010", 42},
		{"#0", 0},
		{"4k", 4096},
		{"1K", 1024},
		{"2M", 2 << 20},
		{"1G", 1 << 30},
		{"1T", 1 << 40},
		{"0x1k", 1024},
		{"0xFb", 0xFB},
	} {
		got, err := parseUint(tc.in)
		if assert.NoError(t, err, tc.in) {
			assert.Equal(t, tc.want, got, tc.in)
		}
	}
	for _, in := range []string{
		"", " ", "+", "-1", "0x", "#", "#2", "#1x", "0xG", "1.5", "abc", "0b101",
		"18446744073709551616", "0x10000000000000000", "0xFFFFFFFFFFFFFFFFk", "16777216T", "1_000", "0x_1",
		"#" + strings.Repeat("0", 65),
	} {
		_, err := parseUint(in)
		assert.Error(t, err, "%q", in)
	}
}

func TestParseUintDontCare(t *testing.T) {
	v, dc, err := parseUintDontCare("#1x0X")
	require.NoError(t, err)
	assert.Equal(t, uint64(0b1000), v)
	assert.Equal(t, uint64(0b0101), dc)
	_, _, err = parseUintDontCare("#1xk")
	assert.Error(t, err, "scaled don't-care")
	_, _, err = parseUintDontCare("0x1x")
	assert.Error(t, err)
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "false": false, "1": true, "0": false, " TRUE ": true} {
		got, err := parseBool(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "yes", "2"} {
		_, err := parseBool(in)
		assert.Error(t, err, in)
	}
}

func TestParseDimIndex(t *testing.T) {
	for _, tc := range []struct {
		in    string
		count int
		want  []string
	}{
		{"", 3, []string{"0", "1", "2"}},
		{"A,B,C", 3, []string{"A", "B", "C"}},
		{" A , B_2 ,c3 ", 3, []string{"A", "B_2", "c3"}},
		{"0-3", 4, []string{"0", "1", "2", "3"}},
		{"4-6", 3, []string{"4", "5", "6"}},
		{"A-D", 4, []string{"A", "B", "C", "D"}},
		{"a-b", 2, []string{"a", "b"}},
		{"X", 1, []string{"X"}},
		{"5-5", 1, []string{"5"}},
	} {
		got, err := parseDimIndex(tc.in, tc.count)
		if assert.NoError(t, err, tc.in) {
			assert.Equal(t, tc.want, got, tc.in)
		}
	}
	for _, tc := range []struct {
		in    string
		count int
	}{
		{"A,B", 3},   // too few
		{"0-3", 3},   // range too long
		{"3-0", 4},   // backwards
		{"A-D", 3},   // letters, count
		{"D-A", 4},   // backwards letters
		{"A-d", 4},   // mixed case
		{"A,,B", 3},  // empty entry
		{"A,B-C", 2}, // range inside a list
		{"A B,C", 2}, // space inside an entry
		{"0-99999999999", 4096},
		{"AB-CD", 2},
		{"X", 2},
		{"1-", 2},
	} {
		_, err := parseDimIndex(tc.in, tc.count)
		assert.Error(t, err, "%q dim %d", tc.in, tc.count)
	}
}

func TestDeposit(t *testing.T) {
	assert.Equal(t, uint64(0), deposit(0, 0b1010))
	assert.Equal(t, uint64(0b0010), deposit(1, 0b1010))
	assert.Equal(t, uint64(0b1000), deposit(2, 0b1010))
	assert.Equal(t, uint64(0b1010), deposit(3, 0b1010))
}
