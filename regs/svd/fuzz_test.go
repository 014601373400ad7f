package svd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParse feeds arbitrary bytes to Parse and Describe. Neither may panic;
// every error must be a *ParseError; and whatever parses must hold the
// invariants of checkDevice and describe to something that holds those of
// checkDescription. The committed corpus in testdata/fuzz/FuzzParse holds
// small valid and invalid documents and the inputs earlier runs found.
func FuzzParse(f *testing.F) {
	f.Add([]byte(basicDoc))
	f.Add([]byte(describeDoc))
	f.Add([]byte(device(`<peripheral><name>P</name><baseAddress>0</baseAddress><registers>
<register><dim>2</dim><dimIncrement>4</dimIncrement><dimIndex>A,B</dimIndex><name>R%s</name><addressOffset>0</addressOffset>
<fields><field><name>F</name><bitRange>[3:0]</bitRange><enumeratedValues><name>E</name>
<enumeratedValue><name>V</name><value>#1x</value></enumeratedValue></enumeratedValues></field>
<field derivedFrom="F"><name>G</name><lsb>4</lsb><msb>7</msb></field></fields></register>
</registers></peripheral>
<peripheral derivedFrom="P"><name>Q</name><baseAddress>0x100</baseAddress></peripheral>`)))
	f.Add([]byte(errDoc))
	f.Add([]byte("<device><name>X</name><peripherals><peripheral derivedFrom=\"X\"><name>X</name></peripheral></peripherals></device>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(bytes.NewReader(data))
		if err != nil {
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("error %v is a %T, not a *ParseError", err, err)
			}
			return
		}
		if err := checkDevice(d); err != nil {
			t.Fatalf("inconsistent device: %v", err)
		}
		desc, err := d.Describe()
		if err != nil {
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("Describe error %v is a %T, not a *ParseError", err, err)
			}
			return
		}
		if err := checkDescription(desc); err != nil {
			t.Fatalf("inconsistent description: %v", err)
		}
	})
}

// TestFuzzCorpusValid checks that the corpus entries named valid_* do
// parse and describe, so that the fuzzer starts from the inside of the
// format and not only from its errors.
func TestFuzzCorpusValid(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParse", "valid_*"))
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, name := range names {
		raw, err := os.ReadFile(name)
		require.NoError(t, err)
		header, body, ok := strings.Cut(string(raw), "\n")
		require.True(t, ok)
		require.Equal(t, "go test fuzz v1", header)
		body = strings.TrimSpace(body)
		require.True(t, strings.HasPrefix(body, "[]byte(") && strings.HasSuffix(body, ")"), name)
		doc, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(body, "[]byte("), ")"))
		require.NoError(t, err, name)
		d := parseString(t, doc)
		desc, err := d.Describe()
		require.NoError(t, err, name)
		require.NoError(t, checkDescription(desc), name)
	}
}
