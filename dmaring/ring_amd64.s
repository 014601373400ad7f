//go:build !race

#include "textflag.h"

// func storeRelease64(p *uint64, v uint64)
// A plain store: a release store under x86-64's TSO (see ring_release.go).
TEXT ·storeRelease64(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ	p+0(FP), AX
	MOVQ	v+8(FP), BX
	MOVQ	BX, (AX)
	RET
