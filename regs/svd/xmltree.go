package svd

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// maxXMLDepth caps the nesting of XML elements. The deepest legitimate SVD
// path, device/peripherals/peripheral/registers/cluster/.../register/fields/
// field/enumeratedValues/enumeratedValue/value, is 11 deep plus one per
// nested cluster, so 64 leaves room for more than 50 levels of clusters.
const maxXMLDepth = 64

// A node is one XML element of the input, as the first stage of parsing
// keeps it: its tag, its derivedFrom attribute, its text if it is a leaf,
// its children and the line it starts on.
//
// After derivedFrom is resolved the nodes form a DAG rather than a tree: a
// derived element's children list holds the very nodes of its base, which
// are read-only from then on. up always points to the parent in the
// document.
type node struct {
	tag         string
	derivedFrom string
	derived     bool // derivedFrom was stated
	text        string
	line        int
	kids        []*node
	up          *node
	state       resolveState
}

// child returns the first child element with tag, or nil.
func (n *node) child(tag string) *node {
	for _, k := range n.kids {
		if k.tag == tag {
			return k
		}
	}
	return nil
}

// name returns the text of the element's <name> child.
func (n *node) name() string {
	if c := n.child("name"); c != nil {
		return c.text
	}
	return ""
}

// kindOf reports whether tag is one of the named elements that a
// ParseError path shows.
func kindOf(tag string) bool {
	switch tag {
	case "device", "peripheral", "cluster", "register", "field",
		"enumeratedValues", "enumeratedValue", "interrupt":
		return true
	}
	return false
}

// nodePath returns the path of n in the document.
func nodePath(n *node) *path {
	if n == nil {
		return nil
	}
	up := nodePath(n.up)
	if !kindOf(n.tag) {
		return up
	}
	return up.down(n.tag, n.name())
}

// decodeTree reads the XML of r into a tree of nodes rooted at <device>.
func decodeTree(r io.Reader) (*node, error) {
	d := xml.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	d.CharsetReader = charsetReader
	var root *node
	var stack []*node
	var text []byte // the text of the innermost open element so far
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var top *node
			if len(stack) > 0 {
				top = stack[len(stack)-1]
			}
			var serr *xml.SyntaxError
			if errors.As(err, &serr) {
				line = serr.Line
				err = fmt.Errorf("bad XML: %s", serr.Msg)
			} else {
				err = fmt.Errorf("bad XML: %w", err)
			}
			return nil, wrap(nodePath(top), line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var top *node
			if len(stack) > 0 {
				top = stack[len(stack)-1]
			}
			n := &node{tag: t.Name.Local, line: line, up: top}
			if top == nil {
				if root != nil {
					return nil, errorf(nil, line, "more than one top-level element")
				}
				if n.tag != "device" {
					return nil, errorf(nil, line, "top-level element is <%s>, want <device>", n.tag)
				}
				root = n
			} else {
				if len(stack) >= maxXMLDepth {
					return nil, errorf(nodePath(top), line, "elements nested more than %d deep", maxXMLDepth)
				}
				top.kids = append(top.kids, n)
				if n.tag == "vendorExtensions" {
					// Free-form; nothing here is ours to read.
					if err := d.Skip(); err != nil {
						return nil, wrap(nodePath(top), line, fmt.Errorf("bad XML: %v", err))
					}
					continue
				}
			}
			for _, a := range t.Attr {
				if a.Name.Local == "derivedFrom" {
					n.derivedFrom = strings.TrimSpace(a.Value)
					n.derived = true
				}
			}
			stack = append(stack, n)
			text = text[:0]
		case xml.EndElement:
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(n.kids) == 0 {
				n.text = string(bytes.TrimSpace(text))
			}
			text = text[:0]
		case xml.CharData:
			// Only a leaf keeps its text; that of an element with
			// children is indentation.
			if len(stack) > 0 && len(stack[len(stack)-1].kids) == 0 {
				text = append(text, t...)
			}
		}
	}
	if root == nil {
		return nil, errorf(nil, 0, "no <device> element")
	}
	return root, nil
}

// charsetReader lets the decoder read files that declare a single-byte
// Latin encoding, which some SVD generators write; UTF-8 needs no help.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		return &latin1Reader{r: bufio.NewReader(input)}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

// latin1Reader converts ISO 8859-1 bytes to UTF-8.
type latin1Reader struct {
	r   *bufio.Reader
	buf []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.buf) > 0 {
			c := copy(p[n:], l.buf)
			l.buf = l.buf[c:]
			n += c
			continue
		}
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < utf8.RuneSelf {
			p[n] = b
			n++
			continue
		}
		l.buf = utf8.AppendRune(l.buf[:0], rune(b))
	}
	return n, nil
}
