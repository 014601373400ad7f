//go:build !(amd64 || arm64) || race

package dmaring

import "sync/atomic"

// storeRelease64 stores v, already in the layout's byte order, at p with
// sync/atomic, which is sequentially consistent and so release too: on
// the architectures without an assembly release store, and under the race
// detector, which must see the store to see the payload copies it
// publishes as synchronized.
func storeRelease64(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
