//go:build !(armbe || arm64be || m68k || mips || mips64 || mips64p32 || ppc || ppc64 || s390 || s390x || shbe || sparc || sparc64)

package dmaring

// bigEndian is false: the CPU's byte order is the shared layout's, and the
// le conversions below compile to nothing.
const bigEndian = false
