//go:build mips || mipsle || mips64 || mips64le || ppc64 || ppc64le || sparc64

package sys

// The encoding of ioctl numbers on MIPS, PowerPC and SPARC: a 3-bit
// direction field whose "none" value is 1 (their <asm/ioctl.h>).
const (
	iocNone     = 1
	iocDirShift = 29
)
