package svd

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// parseUint parses an SVD scaledNonNegativeInteger: decimal ("42"),
// hexadecimal ("0x2A", "0X2a"), or binary ("#101010"), with an optional
// leading '+' and an optional scale suffix k, M, G or T (powers of 1024, as
// svdconv reads them, in either case).
func parseUint(s string) (uint64, error) {
	v, dc, err := parseUintDontCare(s)
	if err != nil {
		return 0, err
	}
	if dc != 0 {
		return 0, fmt.Errorf("number %q has don't-care bits, which only enumerated values may have", s)
	}
	return v, nil
}

// parseUintDontCare is parseUint that also accepts 'x' digits in the binary
// form ("#1x0") and returns them as a mask of don't-care bits. The value
// has zeros in those bits.
func parseUintDontCare(s string) (v, dontCare uint64, err error) {
	orig := s
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, 0, fmt.Errorf("empty number %q", orig)
	}
	var shift uint
	switch s[len(s)-1] {
	case 'k', 'K':
		shift = 10
	case 'm', 'M':
		shift = 20
	case 'g', 'G':
		shift = 30
	case 't', 'T':
		shift = 40
	}
	if shift != 0 {
		s = s[:len(s)-1]
	}
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		v, err = strconv.ParseUint(s[2:], 16, 64)
	case strings.HasPrefix(s, "#"):
		v, dontCare, err = parseBinary(s[1:])
	default:
		v, err = strconv.ParseUint(s, 10, 64)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("bad number %q", orig)
	}
	if shift != 0 {
		if bits.LeadingZeros64(v) < int(shift) || dontCare != 0 {
			return 0, 0, fmt.Errorf("bad number %q: out of range", orig)
		}
		v <<= shift
	}
	return v, dontCare, nil
}

// parseBinary parses the digits of a '#' binary number, where 'x' or 'X' is
// a don't-care bit.
func parseBinary(s string) (v, dontCare uint64, err error) {
	if s == "" || len(s) > 64 {
		return 0, 0, errors.New("bad binary number")
	}
	for _, c := range []byte(s) {
		v <<= 1
		dontCare <<= 1
		switch c {
		case '0':
		case '1':
			v |= 1
		case 'x', 'X':
			dontCare |= 1
		default:
			return 0, 0, errors.New("bad binary number")
		}
	}
	return v, dontCare, nil
}

// parseBool parses an xs:boolean: true, false, 1 or 0 (any case).
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("bad boolean %q", s)
}

// parseDimIndex returns the count index strings of a dimIndex: a comma
// list ("A,B,C"), a decimal range ("0-3", "4-7"), a letter range ("A-D"),
// or a single identifier when count is 1. An empty s gives "0" to
// count-1.
func parseDimIndex(s string, count int) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		idx := make([]string, count)
		for i := range idx {
			idx[i] = strconv.Itoa(i)
		}
		return idx, nil
	}
	var idx []string
	if lo, hi, ok := strings.Cut(s, "-"); ok && !strings.Contains(s, ",") {
		lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
		switch {
		case isDigits(lo) && isDigits(hi):
			a, err1 := strconv.ParseUint(lo, 10, 32)
			b, err2 := strconv.ParseUint(hi, 10, 32)
			if err1 != nil || err2 != nil || b < a {
				return nil, fmt.Errorf("bad dimIndex range %q", s)
			}
			if b-a+1 != uint64(count) {
				return nil, fmt.Errorf("dimIndex %q has %d entries, dim is %d", s, b-a+1, count)
			}
			idx = make([]string, count)
			for i := range idx {
				idx[i] = strconv.FormatUint(a+uint64(i), 10)
			}
			return idx, nil
		case len(lo) == 1 && len(hi) == 1 && isLetter(lo[0]) && isLetter(hi[0]) &&
			isUpper(lo[0]) == isUpper(hi[0]) && hi[0] >= lo[0]:
			if n := int(hi[0]-lo[0]) + 1; n != count {
				return nil, fmt.Errorf("dimIndex %q has %d entries, dim is %d", s, n, count)
			}
			for c := lo[0]; c <= hi[0]; c++ {
				idx = append(idx, string(rune(c)))
			}
			return idx, nil
		}
		return nil, fmt.Errorf("bad dimIndex range %q", s)
	}
	// A list. Count the commas first so that a hostile list cannot make
	// us allocate more than dim entries.
	if n := strings.Count(s, ",") + 1; n != count {
		return nil, fmt.Errorf("dimIndex %q has %d entries, dim is %d", s, n, count)
	}
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if !isIdent(e) {
			return nil, fmt.Errorf("bad dimIndex entry %q in %q", e, s)
		}
		idx = append(idx, e)
	}
	return idx, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isUpper(c byte) bool  { return c >= 'A' && c <= 'Z' }

// isIdent reports whether s is made of [_0-9a-zA-Z], the characters of a
// dimIndex entry.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !isLetter(c) && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
