//go:build !race

#include "textflag.h"

// func storeRelease64(p *uint64, v uint64)
// STLR: the store-release instruction (see ring_release.go).
TEXT ·storeRelease64(SB), NOSPLIT|NOFRAME, $0-16
	MOVD	p+0(FP), R0
	MOVD	v+8(FP), R1
	STLR	R1, (R0)
	RET
