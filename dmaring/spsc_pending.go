package dmaring

// Pending returns how many of the messages this producer enqueued the
// consumer has not dequeued yet, read from the stamps of the slots behind
// the producer's position: the consumer frees slots in order, so the
// unread messages are the last ones written. The count is exact while
// the consumer is stopped (it exited, or closed its side), and a snapshot
// otherwise. A consumer that breaks the ring can make it wrong, never
// larger than the number of slots.
func (p *SPSCProducer) Pending() int {
	r := p.r
	n := 0
	for i := uint64(1); i <= r.slots && i <= p.pos; i++ {
		pos := p.pos - i
		if load64(&slotAt(r.mem, r.slotOff(pos)).Seq) != pos+1 {
			break // freed: this one and every earlier one were read
		}
		n++
	}
	return n
}

// Pending returns how many messages producers enqueued that consumers
// have not claimed yet: the distance between the shared indices, at most
// the number of slots. It counts every producer's messages, and is a
// snapshot while any participant runs.
func (m *MPMC) Pending() int {
	r := &m.r
	t, h := load64(r.tail), load64(r.head)
	switch {
	case t <= h:
		return 0
	case t-h > r.slots:
		return int(r.slots)
	}
	return int(t - h)
}
