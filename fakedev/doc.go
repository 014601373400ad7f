// Package fakedev is a behavioural model of the reference IPC block
// (docs/ipcu.md), so that drivers and their tests run without hardware.
//
// New builds a block in its hardware-reset state; Core(id) is the block
// seen from one initiator: a regs.Bus whose accesses carry the core's id
// through the block's access control, and the core's interrupt line, whose
// notifications arrive on a real eventfd (Core.EventFD), so that interrupt
// code is exercised as it is with UIO or VFIO.
//
// The model's register decode is built from regs/ipcu's generated
// Description, the one the driver uses: a register of the SVD without
// modelled behaviour makes New fail, so model and map cannot drift. Every
// access is judged by docs/ipcu.md section 5.2 and takes effect atomically
// under one lock, in order with the block's internal events.
//
// Modelled so far: identification, CTRL and soft reset, hardware reset,
// access control with LOCK and ACL_LOCK, the violation log and counter and
// their notify sets, mailboxes (staging, COMMIT, FIFO, POP, OVF, UNF,
// LENERR, flush on reconfiguration), doorbells, per-core interrupt status,
// masks, lines and notifications (rising edges and IRQ_EOI), DMA completion
// coalescing with an injectable Clock, the DMA channel registers (64-bit
// latches, RUN/RST, SIZE checks, PROD validation, errors and channel
// reset), the DMA engine (docs/ipcu.md 9.4 to 9.8: store-and-forward
// atomic delivery, every check of 9.4 in order with descriptor marking,
// multi-buffer RX packets, write-back, completion events, stall without
// drop, TOO_BIG, PRIO arbitration with round-robin, synchronous stop), the
// block's DMA address space with its IOMMU, and fault injection (SetFaults).
//
// DMA memory is real shared memory: Core.Alloc returns a Buffer that the
// CPU sees through Bytes and the block at Addr, mapped read-write; Map,
// Unmap and Buffer.Protect change what the block may access, so that
// tests can provoke DESC_FAULT, BUF_FAULT and WB_FAULT. The engine runs in
// a goroutine of its own (EngineFreeRunning), or, with EngineStep, only
// when a test calls Device.Step or Device.RunEngine, one arbitration
// decision at a time.
//
// SetTrace records every access (initiator, offset, width, direction,
// value, outcome) and internal event, for assertions and for tools.
//
// fakedev needs Linux for its eventfds, and no privileges. It is tested by a
// conformance suite derived from docs/ipcu.md, under -race.
package fakedev
