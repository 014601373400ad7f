//go:build armbe || arm64be || m68k || mips || mips64 || mips64p32 || ppc || ppc64 || s390 || s390x || shbe || sparc || sparc64

package dmaring

// bigEndian is true: every word of the little-endian shared layout is byte
// swapped on its way in and out of an atomic access.
const bigEndian = true
