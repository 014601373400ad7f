package fakedev

import "fmt"

// A TraceEntry is one register access or one internal event of the model.
type TraceEntry struct {
	// Core is the initiator of an access, or the core an event concerns
	// (-1 for the whole block).
	Core int
	// Event names an internal event ("notify", "soft reset", ...); empty
	// for an access.
	Event   string
	Offset  uintptr
	Bits    int
	Write   bool
	Value   uint64 // written, or read
	Outcome Outcome
	Cause   Cause
}

func (e TraceEntry) String() string {
	if e.Event != "" {
		return fmt.Sprintf("core %d: %s", e.Core, e.Event)
	}
	op := "read"
	if e.Write {
		op = "write"
	}
	s := fmt.Sprintf("core %d: %s%d %#04x = %#x", e.Core, op, e.Bits, e.Offset, e.Value)
	switch e.Outcome {
	case RAZWI:
		s += " (RAZ/WI)"
	case Violation:
		s += " (violation " + e.Cause.String() + ")"
	}
	return s
}

// SetTrace turns the access trace on or off. Turning it on discards what
// was recorded before.
func (d *Device) SetTrace(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tracing = on
	d.trace = nil
}

// Trace returns the entries recorded since the last call, in order.
func (d *Device) Trace() []TraceEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.trace
	d.trace = nil
	return t
}

// event records an internal event in the trace.
func (d *Device) event(core int, what string) {
	if d.tracing {
		d.trace = append(d.trace, TraceEntry{Core: core, Event: what})
	}
}
