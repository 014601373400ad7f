// Package regs gives typed, exact-width access to the registers of a device
// block, and a runtime description of them for dumps and decoding.
//
// # Buses and windows
//
// A Bus reads and writes registers at byte offsets with exactly the width
// asked for: 8, 16, 32 or 64 bits. Window is the Bus over mapped memory (a
// UIO map, a VFIO region, shared memory): 32- and 64-bit accesses go through
// sync/atomic, so the compiler never splits, merges or elides them, and 8-
// and 16-bit accesses, which sync/atomic lacks, are single loads and stores
// inside functions that are never inlined (see window_unsafe.go for why that
// is enough). Map maps a file descriptor's memory into a Window. An
// out-of-range or misaligned offset panics with an *AccessError; ReadAt,
// WriteAt and CheckAccess report it as an error instead, for offsets that
// come from a user.
//
// A 64-bit register on a bus without atomic 64-bit accesses (32-bit CPUs,
// or WindowOptions.Split64) is read high-low-high and written low-then-high;
// see SplitRead64 and SplitWrite64.
//
// # Typed registers
//
// Generated register maps (tools/regsgen) are made of RO, WO, RW and RC
// registers and of fields whose type says what a write may do with them:
// ROField, RWField, WOField, W1CField, W1SField and RCField (read-to-clear).
// Writable fields make Changes, which a register applies with Update:
//
//	blk.CTRL.Update(ipcu.CTRL.EN.Val(1))              // read-modify-write
//	blk.MBOX[2].STATUS.Update(ipcu.MBOX_STATUS.OVF.Clear()) // W1C
//
// A read-modify-write writes every write-1-to-clear and write-1-to-set bit
// as 0 unless a Change names it, so updating one field never clears a status
// bit that happened to read as 1. Registers whose read has a side effect
// (RC) have no read-modify-write at all. The Layout of a register, computed
// by the generator from its fields, says which bits are written back.
//
// # Descriptions
//
// A Description is the plain-data form of a register map: peripherals,
// registers (arrays and clusters flattened to names such as
// "MBOX[3].STATUS"), fields, enumerated values, reset values and access.
// It decodes raw values into named fields and formats register dumps (Dump).
// Generated packages carry the Description of their map; package regs/svd
// builds one from any CMSIS-SVD file.
//
// # Testing
//
// The package is tested on memory mapped from a memfd, on a recording fake
// bus that models write-1-to-clear bits, and by benchmarks that compare a
// typed field update with raw sync/atomic accesses (go test -bench . ./regs).
// It needs no privileges.
package regs
