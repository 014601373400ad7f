package fakedev

import (
	"fmt"
)

// Config is the synthesis configuration of a modelled block (docs/ipcu.md
// section 2) and the model's own settings. The zero value is the default
// configuration: 4 cores, 4-message FIFOs, 4-word messages, 4 DMA channels.
type Config struct {
	// Cores is NCORES, 2 to 8 (default 4).
	Cores int
	// FIFODepth is FIFO_DEPTH, messages per mailbox, 1 to 16 (default 4).
	FIFODepth int
	// MsgWords is MSG_WORDS, 32-bit words per message, 1 to 4 (default 4).
	MsgWords int
	// DMAChannels is NDMA, 1 to 4 (default 4).
	DMAChannels int
	// Clock drives the DMA completion coalescing timer. Nil means real
	// time; tests use a ManualClock to control it.
	Clock Clock
	// Engine says how the DMA engine runs: EngineFreeRunning (the zero
	// value), in a goroutine of its own, or EngineStep, only when the
	// caller calls Step or RunEngine.
	Engine EngineMode
}

// The fixed parameters of this revision of the block.
const (
	// NumMailboxes is NMBOX.
	NumMailboxes = 16
	// MaxCores is the number of initiator ids the interconnect carries.
	MaxCores = 8
	// NumDoorbells is the number of doorbells per core.
	NumDoorbells = 32
	// BlockSize is the number of bytes the block decodes.
	BlockSize = 0x2000
	// MaxRingLog2 is DMACAPS.MAX_RING_LOG2.
	MaxRingLog2 = 12
	// MaxLenLog2 is DMACAPS.MAX_LEN_LOG2.
	MaxLenLog2 = 16
)

// withDefaults returns c with zero fields set to the defaults, or an error
// naming the first parameter out of range.
func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Cores, 4)
	def(&c.FIFODepth, 4)
	def(&c.MsgWords, 4)
	def(&c.DMAChannels, 4)
	for _, p := range []struct {
		name      string
		v, lo, hi int
	}{
		{"Cores", c.Cores, 2, MaxCores},
		{"FIFODepth", c.FIFODepth, 1, 16},
		{"MsgWords", c.MsgWords, 1, 4},
		{"DMAChannels", c.DMAChannels, 1, 4},
	} {
		if p.v < p.lo || p.v > p.hi {
			return c, fmt.Errorf("fakedev: %s = %d is outside %d to %d", p.name, p.v, p.lo, p.hi)
		}
	}
	if c.Engine > EngineStep {
		return c, fmt.Errorf("fakedev: Engine = %v is not a mode", c.Engine)
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	return c, nil
}

// caps returns the CAPS register of the configuration.
func (c *Config) caps() uint32 {
	return uint32(c.MsgWords)<<24 | uint32(c.FIFODepth)<<16 | NumMailboxes<<8 | uint32(c.DMAChannels)<<4 | uint32(c.Cores)
}

// dmaCaps is the DMACAPS register: 64 address bits, 64 KiB descriptors, 4096-entry rings.
const dmaCaps = 64<<16 | MaxLenLog2<<8 | MaxRingLog2
