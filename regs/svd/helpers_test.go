package svd

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/leakcheck"
)

// device wraps peripherals in a minimal device.
func device(peripherals string) string {
	return "<device>\n<name>DEV</name>\n<peripherals>\n" + peripherals + "\n</peripherals>\n</device>\n"
}

// parseString parses doc and fails the test on error.
func parseString(t *testing.T, doc string) *Device {
	t.Helper()
	d, err := Parse(strings.NewReader(doc))
	require.NoError(t, err)
	require.NoError(t, checkDevice(d))
	return d
}

// lineOf returns the 1-based line of the first occurrence of marker in doc.
func lineOf(t *testing.T, doc, marker string) int {
	t.Helper()
	i := strings.Index(doc, marker)
	require.GreaterOrEqual(t, i, 0, "marker %q not in document", marker)
	return strings.Count(doc[:i], "\n") + 1
}

// parseError parses doc, requires a *ParseError and returns it.
func parseError(t *testing.T, doc string) *ParseError {
	t.Helper()
	d, err := Parse(strings.NewReader(doc))
	require.Error(t, err, "parsed to %+v", d)
	var perr *ParseError
	require.True(t, errors.As(err, &perr), "error %v (%T) is not a *ParseError", err, err)
	return perr
}

func TestMain(m *testing.M) { leakcheck.Main(m) }
