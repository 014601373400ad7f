// Package dmaring moves data through rings in shared memory: the reference
// block's DMA descriptor rings (TX and RX), and lock-free single- and
// multi-producer rings for memory shared between processes.
//
// Everything here reads memory that a device or a peer can write at any
// time. Such memory is read once into private memory and validated there,
// with overflow-safe arithmetic; indices, lengths and flags that break the
// ring's invariants mark the ring broken (ErrBroken) instead of panicking
// or reaching out of bounds. Addresses, capacities and cookies the driver
// owns are kept in private memory and never trusted back from shared
// memory.
//
// DMA memory comes from a Memory (UIO, VFIO or fakedev), which returns
// Regions: a CPU slice and its device address.
//
// The package needs no privileges. It is tested on fakedev's DMA engine and
// IOMMU, with faults injected, under -race, and its decoders are fuzzed.
package dmaring
