// Package goident turns names from register descriptions into exported Go
// identifiers, the one rule that tools/regsgen generates with and
// regs/regstest checks with.
package goident

import "strings"

// Of returns the exported Go identifier for name: ASCII letters, digits and
// underscores are kept, anything else becomes '_', a lower-case first letter
// is upper-cased, and a result that would start with a digit or '_' (a
// name starting with one, or with any other character that is not an
// ASCII letter, such as "-" or "Ä") gets an "X" in front, so that it is
// never blank or unexported. The empty name gives "X".
func Of(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 1)
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			if i == 0 && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || s[0] == '_' || s[0] >= '0' && s[0] <= '9' {
		return "X" + s
	}
	return s
}
