//go:build (amd64 || arm64) && !race

package dmaring

// storeRelease64 is a release store of v, already in the layout's byte
// order, at p: MOVQ on amd64, STLR on arm64 (ring_amd64.s, ring_arm64.s).
// The race detector does not see assembly stores, so race builds use
// sync/atomic instead (ring_release_other.go).
//
//go:noescape
func storeRelease64(p *uint64, v uint64)
