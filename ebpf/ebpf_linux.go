package ebpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	cebpf "github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/internal/pidfd"
	"github.com/ipcu/ipcu/mailbox"
)

// sysChannel is the Linux state of a Channel.
type sysChannel struct {
	dir     string
	owner   bool // removes the pins on Close unless persist
	persist bool

	tx, rx *cebpf.Map // the direction this endpoint sends on, and receives from

	// Queue flavour: the value buffers of each direction (length word and
	// payload), used under sendMu and recvMu, and a message popped into
	// a buffer too short for it, delivered first by the next receive.
	txBuf, rxBuf []byte
	pending      []byte
	hasPending   bool

	// MmapArray flavour: the mappings of the maps and the rings in them.
	txMem, rxMem []byte
	prod         *dmaring.SPSCProducer
	cons         *dmaring.SPSCConsumer

	watch *pidfd.Watcher // of WatchProcess, or nil
}

// Pin names in the channel's directory: a2b carries what the creator
// sends, b2a what the opener sends.
const (
	pinAtoB = "a2b"
	pinBtoA = "b2a"
)

// Layout of an MmapArray map's memory: a header cache line, then a dmaring
// SPSC ring. The header is written by the creator before the map is
// pinned and read once by Open; its words are little-endian.
//
//	offset  size  field
//	     0     4  magic        "IPCE" (0x45435049)
//	     4     4  version      1
//	     8     4  max message  bytes, what the channel accepts (the ring's slots may hold up to 7 more)
//	    12     4  depth        the ring's slots
//	    64        ring         dmaring SPSC ring (see dmaring.RingSize)
const (
	arrMagic      = 0x45435049
	arrVersion    = 1
	arrOffMagic   = 0
	arrOffVersion = 4
	arrOffMaxMsg  = 8
	arrOffDepth   = 12
	arrRingOff    = 64
	// arrValueSize is the value size of the array maps: the map is an
	// array of 8-byte words, as many as the memory needs.
	arrValueSize = 8
	// memAlign rounds the map memory, a constant so that every process
	// computes the same size whatever its page size; the kernel rounds
	// the allocation to its pages.
	memAlign = 4096
	// maxMemory bounds one direction's memory (1 GiB), so that sizes fit
	// 32-bit ints and the kernel's u32 value counts.
	maxMemory = 1 << 30
)

// queueLenSize is the size of the length word before a queue value's
// payload.
const queueLenSize = 4

// BPF_FS_MAGIC, statfs's f_type of bpffs.
const bpfFSMagic = unix.BPF_FS_MAGIC

// shortSleepMax bounds the sleeps done with nanosleep instead of a
// runtime timer, whose resolution is coarser.
const shortSleepMax = time.Millisecond

func shortSleep(d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	_ = unix.Nanosleep(&ts, nil) // EINTR: a shorter sleep is fine
}

// Probe reports whether this system can make channels of both flavours:
// an error wrapping ErrNotSupported says why not (no privilege to create
// BPF maps, a kernel without queue maps or mmapable arrays). It creates
// and closes small maps; it does not check a bpffs mount, which Create and
// Open check on their directory.
func Probe() error {
	if err := probe(); err != nil {
		return &Error{Op: "probe", Err: err}
	}
	return nil
}

func probe() error {
	for _, p := range []struct {
		what string
		f    func() error
	}{
		{"queue maps", func() error { return features.HaveMapType(cebpf.Queue) }},
		{"array maps", func() error { return features.HaveMapType(cebpf.Array) }},
		{"mmapable array maps", func() error { return features.HaveMapFlag(features.BPF_F_MMAPABLE) }},
	} {
		if err := p.f(); err != nil {
			return notSupported(p.what, err)
		}
	}
	return nil
}

// notSupported wraps a failed map creation or probe in ErrNotSupported,
// saying why, and keeps the cause (an EPERM is also os.ErrPermission).
func notSupported(what string, err error) error {
	switch {
	case errors.Is(err, cebpf.ErrNotSupported):
		return fmt.Errorf("%w: the kernel lacks %s: %w", ErrNotSupported, what, err)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w: no privilege to create %s (CAP_BPF, or root): %w", ErrNotSupported, what, err)
	}
	return fmt.Errorf("creating %s: %w", what, err)
}

// checkBPFFS returns an error wrapping ErrNotSupported unless dir is on a
// bpffs.
func checkBPFFS(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("%w: no bpffs at %s: %w", ErrNotSupported, dir, os.NewSyscallError("statfs", err))
		}
		return os.NewSyscallError("statfs", err)
	}
	// f_type is a 32-bit magic number, in a field that is an int32 on
	// 32-bit ARM (0xcafe4a11 would read as negative, sign-extended).
	if uint32(st.Type) != uint32(bpfFSMagic) {
		return fmt.Errorf("%w: %s is not on a bpffs (filesystem magic %#x, want %#x; mount -t bpf bpf DIR)",
			ErrNotSupported, dir, uint32(st.Type), uint32(bpfFSMagic))
	}
	return nil
}

// dirMode is the mode of a pin directory for pins of mode m: the owner's
// rwx, and search permission for the group and others if m grants them
// anything.
func dirMode(m os.FileMode) os.FileMode {
	d := os.FileMode(0o700)
	if m&0o070 != 0 {
		d |= 0o010
	}
	if m&0o007 != 0 {
		d |= 0o001
	}
	return d
}

// slotSizeFor returns the ring slot size that carries messages of maxMsg
// bytes.
func slotSizeFor(maxMsg int) int { return (maxMsg + dmaring.SlotHeaderSize + 7) &^ 7 }

// arrayMemSize returns the memory of one MmapArray direction.
func arrayMemSize(depth, maxMsg int) (int, error) {
	rs, err := dmaring.RingSize(depth, slotSizeFor(maxMsg))
	if err != nil {
		return 0, err
	}
	if rs > maxMemory-arrRingOff-memAlign {
		return 0, fmt.Errorf("%w: %d slots of %d bytes are too large", ErrLayout, depth, slotSizeFor(maxMsg))
	}
	return (arrRingOff + rs + memAlign - 1) &^ (memAlign - 1), nil
}

func validate(o *Options) error {
	switch {
	case o.Flavour != Queue && o.Flavour != MmapArray:
		return fmt.Errorf("unknown flavour %v", o.Flavour)
	case o.Depth < 1 || o.Depth > 1<<24:
		return fmt.Errorf("depth %d, want 1 to 2^24", o.Depth)
	case o.MaxMessage < 0 || o.MaxMessage > 1<<20:
		return fmt.Errorf("max message %d, want 0 to 2^20", o.MaxMessage)
	case o.Mode&^os.ModePerm != 0:
		return fmt.Errorf("mode %v has bits other than permissions", o.Mode)
	case o.Flavour == MmapArray && (o.Depth < 2 || o.Depth&(o.Depth-1) != 0):
		return fmt.Errorf("depth %d, want a power of two from 2 for %v", o.Depth, o.Flavour)
	}
	return nil
}

// Create makes a new channel pinned in dir, which must not exist and
// whose parent must be on a bpffs: it creates the two maps of the
// flavour opts gives, prepares them (for MmapArray, a header and an empty
// ring each), pins them in a fresh directory with the mode of
// Options.Mode and renames that directory to dir, so that Open never sees
// a half-made channel. It returns the creator's endpoint, which owns the
// pins: its Close removes them unless Options.Persist.
func Create(dir string, opts *Options) (_ *Channel, err error) {
	dir = filepath.Clean(dir) // "ch/" is ch, in the parent's bpffs
	o := opts.withDefaults(dir)
	fail := func(err error) (*Channel, error) { return nil, &Error{Op: "create", Dir: dir, Err: err} }
	if err := validate(&o); err != nil {
		return fail(err)
	}
	parent := filepath.Dir(dir)
	if err := checkBPFFS(parent); err != nil {
		return fail(err)
	}
	c := newChannel(o, dir)
	c.persist = o.Persist
	tmp := ""
	defer func() {
		if err != nil {
			_ = c.release()
			if tmp != "" {
				os.Remove(filepath.Join(tmp, pinAtoB))
				os.Remove(filepath.Join(tmp, pinBtoA))
				os.Remove(tmp)
			}
		}
	}()
	if c.tx, err = newMap(&o); err != nil {
		return fail(err)
	}
	if c.rx, err = newMap(&o); err != nil {
		return fail(err)
	}
	if o.Flavour == MmapArray {
		if c.txMem, err = mapMemory(c.tx); err != nil {
			return fail(err)
		}
		if c.rxMem, err = mapMemory(c.rx); err != nil {
			return fail(err)
		}
		var rings [2]*dmaring.SPSC
		for i, mem := range [][]byte{c.txMem, c.rxMem} {
			// No peer has the memory yet, but the header is written
			// atomically as Open reads it.
			putLE32(mem, arrOffMagic, arrMagic)
			putLE32(mem, arrOffVersion, arrVersion)
			putLE32(mem, arrOffMaxMsg, uint32(o.MaxMessage))
			putLE32(mem, arrOffDepth, uint32(o.Depth))
			if rings[i], err = dmaring.InitSPSC(mem[arrRingOff:], o.Depth, slotSizeFor(o.MaxMessage)); err != nil {
				return fail(err)
			}
		}
		c.prod, c.cons = rings[0].Producer(), rings[1].Consumer()
	}
	// A name no other Create uses, even one of a process of the same
	// PID in another PID namespace, or after a creator killed at this
	// point left its directory behind (bpffs refuses names with dots:
	// MkdirTemp's suffix is digits).
	if tmp, err = os.MkdirTemp(parent, filepath.Base(dir)+"-creating-*"); err != nil {
		tmp = ""
		return fail(err)
	}
	for _, p := range []struct {
		m    *cebpf.Map
		name string
	}{{c.tx, pinAtoB}, {c.rx, pinBtoA}} {
		path := filepath.Join(tmp, p.name)
		if err := p.m.Pin(path); err != nil {
			return fail(fmt.Errorf("pinning %s: %w", p.name, err))
		}
		if err := os.Chmod(path, o.Mode); err != nil {
			return fail(err)
		}
	}
	if err := os.Chmod(tmp, dirMode(o.Mode)); err != nil {
		return fail(err)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE); err != nil {
		return fail(&os.LinkError{Op: "rename", Old: tmp, New: dir, Err: err})
	}
	tmp = ""
	c.owner = true // only now: a failed Create removes nothing at dir
	return c, nil
}

func newChannel(o Options, dir string) *Channel {
	c := &Channel{
		name:     o.Name,
		flavour:  o.Flavour,
		busyPoll: o.BusyPoll,
		maxMsg:   o.MaxMessage,
		depth:    o.Depth,
		done:     make(chan struct{}),
		gone:     make(chan struct{}),
	}
	c.dir = dir
	if o.Flavour == Queue {
		c.txBuf = make([]byte, queueLenSize+o.MaxMessage)
		c.rxBuf = make([]byte, queueLenSize+o.MaxMessage)
	}
	return c
}

// newMap creates one direction's map.
func newMap(o *Options) (*cebpf.Map, error) {
	spec := &cebpf.MapSpec{
		Name:       "ipcu_mbox",
		Type:       cebpf.Queue,
		ValueSize:  uint32(queueLenSize + o.MaxMessage),
		MaxEntries: uint32(o.Depth),
	}
	what := "queue maps"
	if o.Flavour == MmapArray {
		size, err := arrayMemSize(o.Depth, o.MaxMessage)
		if err != nil {
			return nil, err
		}
		what = "mmapable array maps"
		spec.Type, spec.KeySize, spec.ValueSize = cebpf.Array, 4, arrValueSize
		spec.MaxEntries, spec.Flags = uint32(size/arrValueSize), unix.BPF_F_MMAPABLE
	}
	m, err := cebpf.NewMap(spec)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, cebpf.ErrNotSupported) {
			return nil, notSupported(what, err)
		}
		return nil, fmt.Errorf("creating a %v map: %w", spec.Type, err)
	}
	return m, nil
}

// mapMemory maps an MmapArray map's memory, shared and writable.
func mapMemory(m *cebpf.Map) ([]byte, error) {
	size := int(m.MaxEntries()) * arrValueSize
	mem, err := unix.Mmap(m.FD(), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping the array map: %w", os.NewSyscallError("mmap", err))
	}
	return mem, nil
}

// Open attaches to the channel pinned in dir and returns the endpoint
// Options.Side names (by default the creator's peer). It reads the
// flavour and the shape from the pinned maps and checks them: against
// each other and the layout (ErrLayout), and against Options.Limits (an
// error wrapping mailbox.ErrLimit and a *mailbox.LimitError). A pin the
// caller may not open is an error wrapping os.ErrPermission (the kernel
// checks the pin's mode and owner as for a file).
//
// Messages queued before Open, by a peer or by an earlier endpoint of the
// same side that crashed, are received by the new endpoint: an endpoint
// resumes where the last one of its side stopped. Each direction has one
// sender and one receiver at a time, across processes: open a side again
// only once its previous endpoint is closed or dead.
func Open(dir string, opts *Options) (_ *Channel, err error) {
	dir = filepath.Clean(dir)
	o := opts.withDefaults(dir)
	fail := func(err error) (*Channel, error) { return nil, &Error{Op: "open", Dir: dir, Err: err} }
	if o.Side != Opener && o.Side != Creator {
		return fail(fmt.Errorf("unknown side %d", o.Side))
	}
	if err := checkBPFFS(dir); err != nil {
		return fail(err)
	}
	var maps [2]*cebpf.Map
	defer func() {
		for _, m := range maps { // those not taken over
			if m != nil {
				m.Close()
			}
		}
	}()
	for i, name := range []string{pinAtoB, pinBtoA} {
		m, err := cebpf.LoadPinnedMap(filepath.Join(dir, name), nil)
		if err != nil {
			if errors.Is(err, unix.EPERM) {
				err = fmt.Errorf("%w: no privilege to use bpf(2) (CAP_BPF): %w", ErrNotSupported, err)
			}
			return fail(fmt.Errorf("opening pin %s: %w", name, err))
		}
		maps[i] = m
	}
	var shape [2]struct{ flavour, depth, maxMsg, mem int }
	for i, m := range maps {
		s := &shape[i]
		switch {
		case m.Type() == cebpf.Queue && m.KeySize() == 0 && m.ValueSize() >= queueLenSize:
			if int64(m.MaxEntries())*int64(m.ValueSize()) > maxMemory { // then the ints below fit 32 bits
				return fail(fmt.Errorf("%w: queue map of %d values of %d bytes", ErrLayout, m.MaxEntries(), m.ValueSize()))
			}
			s.flavour, s.depth, s.maxMsg = int(Queue), int(m.MaxEntries()), int(m.ValueSize()-queueLenSize)
			s.mem = s.depth * int(m.ValueSize())
		case m.Type() == cebpf.Array && m.KeySize() == 4 && m.ValueSize() == arrValueSize && m.Flags()&unix.BPF_F_MMAPABLE != 0:
			if int64(m.MaxEntries())*arrValueSize > maxMemory {
				return fail(fmt.Errorf("%w: array map of %d words", ErrLayout, m.MaxEntries()))
			}
			s.flavour, s.mem = int(MmapArray), int(m.MaxEntries())*arrValueSize
		default:
			return fail(fmt.Errorf("%w: pin %d is a %v map, key %d bytes, value %d bytes, flags %#x",
				ErrLayout, i, m.Type(), m.KeySize(), m.ValueSize(), m.Flags()))
		}
	}
	if shape[0].flavour != shape[1].flavour || shape[0].mem != shape[1].mem {
		return fail(fmt.Errorf("%w: the two directions differ", ErrLayout))
	}
	if lim := o.Limits.Memory; lim > 0 && int64(shape[0].mem)*2 > lim {
		return fail(&mailbox.LimitError{Limit: "memory", Max: lim, Value: int64(shape[0].mem) * 2})
	}
	o.Flavour = Flavour(shape[0].flavour)
	var mems [2][]byte
	defer func() {
		for _, mem := range mems { // those not taken over
			if mem != nil {
				_ = unix.Munmap(mem)
			}
		}
	}()
	if o.Flavour == MmapArray {
		for i, m := range maps {
			if mems[i], err = mapMemory(m); err != nil {
				return fail(err)
			}
			mem := mems[i]
			if len(mem) < arrRingOff {
				return fail(fmt.Errorf("%w: array map of %d bytes", ErrLayout, len(mem)))
			}
			// The header is read once, and checked.
			magic, version := le32(mem, arrOffMagic), le32(mem, arrOffVersion)
			if magic != arrMagic || version != arrVersion {
				return fail(fmt.Errorf("%w: magic %#x version %d, want %#x version %d", ErrLayout, magic, version, arrMagic, arrVersion))
			}
			maxMsg, depth := le32(mem, arrOffMaxMsg), le32(mem, arrOffDepth)
			if maxMsg > 1<<20 || depth > 1<<24 {
				return fail(fmt.Errorf("%w: max message %d, depth %d", ErrLayout, maxMsg, depth))
			}
			size, err := arrayMemSize(int(depth), int(maxMsg))
			if err != nil {
				return fail(err)
			}
			if size != len(mem) {
				return fail(fmt.Errorf("%w: array map of %d bytes, want %d for depth %d and messages of %d bytes",
					ErrLayout, len(mem), size, depth, maxMsg))
			}
			shape[i].depth, shape[i].maxMsg = int(depth), int(maxMsg)
		}
	}
	if shape[0] != shape[1] {
		return fail(fmt.Errorf("%w: the two directions differ", ErrLayout))
	}
	o.Depth, o.MaxMessage = shape[0].depth, shape[0].maxMsg
	if lim := o.Limits.Depth; lim > 0 && o.Depth > lim {
		return fail(&mailbox.LimitError{Limit: "queued messages", Max: int64(lim), Value: int64(o.Depth)})
	}
	if lim := o.Limits.Message; lim > 0 && o.MaxMessage > lim {
		return fail(&mailbox.LimitError{Limit: "message size", Max: int64(lim), Value: int64(o.MaxMessage)})
	}
	c := newChannel(o, dir)
	c.owner, c.persist = o.Side == Creator, o.Persist
	tx, rx := 1, 0 // the opener sends on b2a
	if o.Side == Creator {
		tx, rx = 0, 1
	}
	if o.Flavour == MmapArray {
		txRing, err := dmaring.AttachSPSC(mems[tx][arrRingOff:])
		if err != nil {
			return fail(err)
		}
		rxRing, err := dmaring.AttachSPSC(mems[rx][arrRingOff:])
		if err != nil {
			return fail(err)
		}
		for _, r := range []*dmaring.SPSC{txRing, rxRing} {
			if r.Slots() != o.Depth || r.SlotSize() != slotSizeFor(o.MaxMessage) {
				return fail(fmt.Errorf("%w: ring of %d slots of %d bytes, the header says %d messages of %d bytes",
					ErrLayout, r.Slots(), r.SlotSize(), o.Depth, o.MaxMessage))
			}
		}
		// A predecessor killed between freeing (or filling) a slot and
		// publishing its position left the index behind; the handles
		// resume after the stamps it wrote.
		c.prod, c.cons = txRing.Producer(), rxRing.Consumer()
		c.txMem, c.rxMem = mems[tx], mems[rx]
		mems = [2][]byte{}
	}
	c.tx, c.rx = maps[tx], maps[rx]
	maps = [2]*cebpf.Map{}
	return c, nil
}

// trySend sends msg without waiting.
func (c *Channel) trySend(msg []byte) error {
	if len(msg) > c.maxMsg {
		return mailbox.ErrTooLarge
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.released || c.closed.Load() {
		return os.ErrClosed
	}
	if err := c.brokenErr(); err != nil {
		return err
	}
	gone := c.peerGone.Load()
	c.sendMu.Lock()
	var err error
	if c.flavour == Queue {
		err = c.queueSend(msg)
	} else {
		err = c.prod.Enqueue(msg)
	}
	c.sendMu.Unlock()
	if err == mailbox.ErrFull && gone {
		err = errPeerExited()
	}
	return err
}

func (c *Channel) queueSend(msg []byte) error {
	b := c.txBuf
	binary.LittleEndian.PutUint32(b, uint32(len(msg)))
	n := copy(b[queueLenSize:], msg)
	clear(b[queueLenSize+n:]) // nothing of an earlier message goes out
	err := c.tx.Update(nil, b, cebpf.UpdateAny)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.E2BIG): // the queue holds max_entries values
		return mailbox.ErrFull
	case errors.Is(err, unix.EPERM):
		return c.frozen("pushing to", err)
	}
	return fmt.Errorf("pushing to the queue map: %w", err)
}

// tryRecv receives into buf without waiting.
func (c *Channel) tryRecv(buf []byte) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.released || c.closed.Load() {
		return 0, os.ErrClosed
	}
	if err := c.brokenErr(); err != nil {
		return 0, err
	}
	gone := c.peerGone.Load()
	c.recvMu.Lock()
	var n int
	var err error
	if c.flavour == Queue {
		n, err = c.queueRecv(buf)
	} else {
		n, err = c.cons.Dequeue(buf)
		// The ring's slots have room for up to 7 bytes more than
		// MaxMessage (they are multiples of 8): a longer length, with
		// the message taken or left for a longer buffer, is the peer's.
		if (err == nil || err == io.ErrShortBuffer) && n > c.maxMsg {
			err = c.setBroken(fmt.Errorf("%w: a message of %d bytes, longer than %d", mailbox.ErrBroken, n, c.maxMsg))
			n = 0
		}
	}
	c.recvMu.Unlock()
	if err == mailbox.ErrEmpty && gone {
		err = errPeerExited()
	}
	return n, err
}

func (c *Channel) queueRecv(buf []byte) (int, error) {
	if c.hasPending {
		n := len(c.pending)
		if n > len(buf) {
			return n, io.ErrShortBuffer
		}
		copy(buf, c.pending)
		c.pending, c.hasPending = nil, false
		return n, nil
	}
	if len(buf) < c.maxMsg {
		// Peek first, so that a message too long for buf stays queued
		// (and outlives this process).
		n, err := c.queueOp(c.rx.Lookup)
		if err != nil {
			return 0, err
		}
		if n > len(buf) {
			return n, io.ErrShortBuffer
		}
	}
	n, err := c.queueOp(c.rx.LookupAndDelete)
	if err != nil {
		return 0, err
	}
	if n > len(buf) {
		// Another consumer took the peeked message: keep this one.
		c.pending, c.hasPending = append([]byte(nil), c.rxBuf[queueLenSize:queueLenSize+n]...), true
		return n, io.ErrShortBuffer
	}
	return copy(buf, c.rxBuf[queueLenSize:queueLenSize+n]), nil
}

// queueOp runs a lookup (peek) or a lookup-and-delete (pop) into rxBuf and
// returns the length of the message, checked.
func (c *Channel) queueOp(op func(key, valueOut any) error) (int, error) {
	err := op(nil, c.rxBuf)
	switch {
	case errors.Is(err, cebpf.ErrKeyNotExist):
		return 0, mailbox.ErrEmpty
	case errors.Is(err, unix.EPERM):
		return 0, c.frozen("reading", err)
	case err != nil:
		return 0, fmt.Errorf("reading the queue map: %w", err)
	}
	n := binary.LittleEndian.Uint32(c.rxBuf)
	if n > uint32(c.maxMsg) {
		return 0, c.setBroken(fmt.Errorf("%w: a message of %d bytes, longer than %d", mailbox.ErrBroken, n, c.maxMsg))
	}
	return int(n), nil
}

// frozen is the error of a queue map that refuses an operation with EPERM
// on a descriptor that Open or Create got read-write: the map was frozen
// (BPF_MAP_FREEZE, which any holder of the pin with CAP_BPF may do), for
// good, so the channel is broken. The errno is in the message, not in the
// chain: this process's permissions are not what failed.
func (c *Channel) frozen(doing string, err error) error {
	return c.setBroken(fmt.Errorf("%w: %s the queue map: refused (frozen by a peer?): %v", mailbox.ErrBroken, doing, err))
}

// WatchProcess ties the endpoint to the peer's process p, through a pidfd
// (pidfd_open, Linux 5.3): once p exits, Send on a full direction and
// Recv on an empty one fail with an error wrapping ErrPeerExited and
// mailbox.ErrBroken instead of waiting. Messages the peer queued before it
// died are still received first. Call it at most once, from the parent (p
// its child, not yet waited for) or from a process that otherwise knows p
// is the peer. The pins know nothing of processes: without WatchProcess a
// dead peer looks like a slow one.
func (c *Channel) WatchProcess(p *os.Process) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released || c.closed.Load() {
		return c.err("watch", os.ErrClosed)
	}
	if c.watch != nil {
		return c.err("watch", errors.New("already watching a process"))
	}
	w, err := pidfd.Watch(p, func() {
		c.peerGone.Store(true)
		close(c.gone)
	})
	if err != nil {
		return c.err("watch", err)
	}
	c.watch = w
	return nil
}

// release stops the watch, unmaps the memory, closes the maps and, for
// the owner of a channel not persisted, removes the pins and their
// directory. It is called once, by Close with mu held or by a failed
// constructor, and releases whatever is set.
func (c *Channel) release() error {
	var errs []error
	if err := c.watch.Close(); err != nil { // waits for the watch to end
		errs = append(errs, err)
	}
	for _, mem := range [][]byte{c.txMem, c.rxMem} {
		if mem != nil {
			if err := unix.Munmap(mem); err != nil {
				errs = append(errs, os.NewSyscallError("munmap", err))
			}
		}
	}
	c.txMem, c.rxMem, c.prod, c.cons = nil, nil, nil, nil
	for _, m := range []*cebpf.Map{c.tx, c.rx} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	if c.owner && !c.persist && c.tx != nil {
		for _, name := range []string{pinAtoB, pinBtoA} {
			if err := os.Remove(filepath.Join(c.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		if err := os.Remove(c.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	c.tx, c.rx = nil, nil
	return errors.Join(errs...)
}
