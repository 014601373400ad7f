package dmaring

// storeRel64 stores v at p with release semantics only: every load and
// store before it in program order is visible to whoever loads p and finds
// v, but a later load may be performed before it (no store-load fence).
// It is the SPSC rings' cheap publication, for the words whose store need
// not be ordered before a later load: the position indices, which no one
// reads in steady state, and the stamps of a batch, which the batch's
// final sequentially consistent store (store64) then fences.
//
// Where it is not a plain sync/atomic store (see storeRelease64), its
// ordering rests on the architecture, not on the Go memory model:
//   - amd64: a plain MOV. x86-64 is TSO (Intel SDM Vol. 3A, 10.2.2
//     "Memory Ordering in P6 and More Recent Processor Families": stores
//     are not reordered with other stores, loads are not reordered with
//     later stores), so every MOV is a release store; what sync/atomic's
//     XCHG adds is the store-load fence, a drain of the store buffer.
//   - arm64: STLR, the store-release instruction (Arm ARM, B2.3
//     "Definition of the Arm memory model": Store-Release); a later LDAR,
//     which is what sync/atomic's loads are, is not reordered before it.
//
// The compiler does not move memory accesses across the call to an
// assembly function (it knows nothing of what the function touches), so
// the payload copies before the call stay before the store.
func storeRel64(p *uint64, v uint64) { storeRelease64(p, le64(v)) }
