// Package goident turns names from register descriptions into exported Go
// identifiers, the one rule that tools/regsgen generates with and
// regs/regstest checks with.
package goident

import "strings"

// Of returns the exported Go identifier for name: ASCII letters, digits and
// underscores are kept, anything else becomes '_', a lower-case first letter
// is upper-cased, and a name that starts with a digit or '_' gets an "X"
// in front. The empty name gives "X".
func Of(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			if i == 0 && (r >= '0' && r <= '9' || r == '_') {
				b.WriteByte('X')
			}
			if i == 0 && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "X"
	}
	return b.String()
}
