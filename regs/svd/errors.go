package svd

import (
	"fmt"
	"strings"
)

// A ParseError is returned by Parse, ParseFile and Describe for input that
// cannot be turned into a model. It names the element the problem is in and
// the line of the SVD text it comes from, so that a person can find it.
//
// Use errors.As to get at it:
//
//	var perr *svd.ParseError
//	if errors.As(err, &perr) {
//		fmt.Println(perr.Path, perr.Line)
//	}
type ParseError struct {
	// Path names the element, outermost first, as kind and name pairs
	// joined by " / ": "device STM32WB55_CM4 / peripheral IPCC / register
	// C1CR / field RXOIE". An element whose name is not known yet appears
	// as its kind alone. Path is empty when the problem is not inside any
	// element (an empty input, say).
	Path string
	// Line is the 1-based line of the SVD text the problem was found on,
	// usually that of the offending child element such as <bitRange>, or 0
	// when no line is known.
	Line int
	// Err is the underlying problem.
	Err error
}

// Error implements error.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("svd: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *ParseError) Unwrap() error { return e.Err }

// A path is the chain of elements from the device down to the one being
// worked on, kept as a linked list so that descending costs no copying.
type path struct {
	up   *path
	kind string // "device", "peripheral", "register", ...
	name string // may be empty
}

// down returns the path of the child kind/name of p.
func (p *path) down(kind, name string) *path {
	return &path{up: p, kind: kind, name: name}
}

// String formats p as in ParseError.Path.
func (p *path) String() string {
	var segs []string
	for q := p; q != nil; q = q.up {
		s := q.kind
		if q.name != "" {
			s += " " + q.name
		}
		segs = append(segs, s)
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, " / ")
}

// errorf returns a *ParseError at p and line.
func errorf(p *path, line int, format string, args ...any) *ParseError {
	return &ParseError{Path: p.String(), Line: line, Err: fmt.Errorf(format, args...)}
}

// wrap returns err as a *ParseError at p and line.
func wrap(p *path, line int, err error) *ParseError {
	return &ParseError{Path: p.String(), Line: line, Err: err}
}
