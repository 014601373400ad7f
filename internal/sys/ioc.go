//go:build !(mips || mipsle || mips64 || mips64le || ppc64 || ppc64le || sparc64)

package sys

// The encoding of ioctl numbers in <asm-generic/ioctl.h>, which most
// architectures use.
const (
	iocNone     = 0
	iocDirShift = 30
)
