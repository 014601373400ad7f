package mailboxtest

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipcu/ipcu/internal/testenv"
	"github.com/ipcu/ipcu/mailbox"
)

// Running an endpoint in another process.
//
// StartRemote re-executes the test binary as a child process that opens
// one endpoint and serves it; the parent gets a proxy Channel whose every
// call runs on that endpoint, in the child. The conformance suite then
// runs across two real processes: Pair{A: local, B: StartRemote(...)}.
//
// The proxy speaks over a UNIX socket pair (the child's descriptor 3),
// one gob-encoded request per call, answered out of order, so that calls
// block in the child as they would locally: a Recv waiting there does not
// hold up a TrySend. A context's deadline travels with the request; a
// cancellation is sent as a request of its own. Errors come back as their
// text and the set of the package's sentinels they match, so errors.Is
// works across the process boundary.

// Environment of the child.
const (
	remoteVar      = "IPCU_MAILBOXTEST_REMOTE"
	remoteFilesVar = "IPCU_MAILBOXTEST_REMOTE_FILES"
)

// StartRemote re-executes the test binary (os.Args[0], running no test)
// as a child process that serves one endpoint, and returns a proxy for
// it. The child's TestMain must call ServeRemote first; it receives name
// and files (as its descriptors 4, 5, ...) and opens the endpoint.
// StartRemote does not close files: the child has its own copies once
// StartRemote returns. A cleanup registered on t closes the proxy's
// connection, which makes the child close its endpoint and exit, and
// reaps the child, killing it if it has not exited within 10 seconds.
//
// Under user-mode emulation (internal/testenv.Emulated) the test is
// skipped, with the reason, when the kernel cannot run the binary again.
func StartRemote(t *testing.T, name string, files []*os.File) mailbox.Channel {
	t.Helper()
	testenv.RequireSelfExec(t)
	syscall.ForkLock.RLock() // no exec between the socketpair and CloseOnExec
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatalf("mailboxtest: socketpair: %v", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "mailboxtest-proxy")
	theirs := os.NewFile(uintptr(fds[1]), "mailboxtest-remote")
	conn, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		t.Fatalf("mailboxtest: %v", err)
	}
	cmd := testenv.SelfCommand("-test.run=^$")
	cmd.Env = append(cmd.Env, remoteVar+"="+name, remoteFilesVar+"="+strconv.Itoa(len(files)))
	cmd.ExtraFiles = append([]*os.File{theirs}, files...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		conn.Close()
		t.Fatalf("mailboxtest: starting the remote endpoint: %v", err)
	}
	r := newRemote(conn, name)
	t.Cleanup(func() {
		r.shutdown(errors.New("remote endpoint shut down"))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("mailboxtest: remote endpoint %q: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("mailboxtest: remote endpoint %q did not exit; killed", name)
		}
	})
	if err := r.hello(); err != nil {
		t.Fatalf("mailboxtest: remote endpoint %q: %v", name, err)
	}
	return r
}

// ServeRemote is the child's side of StartRemote. Call it first thing in
// TestMain. In a process StartRemote started, it calls attach with the
// name and files it was given, serves the returned endpoint until the
// proxy goes away, closes the endpoint and exits the process; attach must
// duplicate the files it keeps, as ServeRemote closes them after it
// returns. In any other process ServeRemote returns at once.
func ServeRemote(attach func(name string, files []*os.File) (mailbox.Channel, error)) {
	name, ok := os.LookupEnv(remoteVar)
	if !ok {
		return
	}
	if err := serveRemote(name, attach); err != nil {
		fmt.Fprintf(os.Stderr, "mailboxtest: remote endpoint %q: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serveRemote(name string, attach func(string, []*os.File) (mailbox.Channel, error)) error {
	n, err := strconv.Atoi(os.Getenv(remoteFilesVar))
	if err != nil || n < 0 || n > 64 {
		return fmt.Errorf("bad %s %q", remoteFilesVar, os.Getenv(remoteFilesVar))
	}
	sock := os.NewFile(3, "mailboxtest-remote")
	conn, err := net.FileConn(sock)
	sock.Close()
	if err != nil {
		return err
	}
	defer conn.Close()
	files := make([]*os.File, n)
	for i := range files {
		files[i] = os.NewFile(uintptr(4+i), "remote-file-"+strconv.Itoa(i))
	}
	ch, err := attach(name, files)
	for _, f := range files {
		f.Close()
	}
	s := &server{ch: ch, enc: gob.NewEncoder(conn), ops: make(map[uint64]context.CancelFunc)}
	if err != nil {
		s.reply(&response{Err: encodeErr(err)})
		return nil // the parent reports it
	}
	s.reply(&response{N: ch.MaxMessage()})
	err = s.serve(gob.NewDecoder(conn))
	cerr := ch.Close()
	s.wg.Wait()
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return errors.Join(err, cerr)
}

// Requests and responses on the wire. ID 0 is the hello response.
type request struct {
	ID       uint64
	Op       string // send, trysend, recv, tryrecv, close, cancel
	Msg      []byte // send, trysend
	BufLen   int    // recv, tryrecv
	Deadline time.Time
}

type response struct {
	ID   uint64
	N    int    // recv's length; hello's MaxMessage
	Data []byte // recv's message
	Err  *wireErr
}

// wireErr is an error's text and the sentinels it matches.
type wireErr struct {
	Text  string
	Kinds []string
}

// kinds are the errors errors.Is is asked about across the boundary.
var kinds = []struct {
	name string
	err  error
}{
	{"full", mailbox.ErrFull},
	{"empty", mailbox.ErrEmpty},
	{"toolarge", mailbox.ErrTooLarge},
	{"reset", mailbox.ErrReset},
	{"broken", mailbox.ErrBroken},
	{"limit", mailbox.ErrLimit},
	{"permission", os.ErrPermission},
	{"deadline", os.ErrDeadlineExceeded},
	{"ctxdeadline", context.DeadlineExceeded},
	{"canceled", context.Canceled},
	{"closed", os.ErrClosed},
	{"shortbuffer", io.ErrShortBuffer},
}

func encodeErr(err error) *wireErr {
	if err == nil {
		return nil
	}
	w := &wireErr{Text: err.Error()}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			w.Kinds = append(w.Kinds, k.name)
		}
	}
	return w
}

// RemoteError is an error returned by the endpoint in the child process.
// errors.Is matches the sentinels the original matched.
type RemoteError struct {
	Text  string
	kinds []string
}

func (e *RemoteError) Error() string { return "remote: " + e.Text }

// Is reports whether the original error matched target.
func (e *RemoteError) Is(target error) bool {
	for _, k := range kinds {
		if k.err == target {
			for _, n := range e.kinds {
				if n == k.name {
					return true
				}
			}
		}
	}
	return false
}

// Timeout reports whether the original error was a passed deadline.
func (e *RemoteError) Timeout() bool { return e.Is(os.ErrDeadlineExceeded) }

func (w *wireErr) decode() error {
	if w == nil {
		return nil
	}
	return &RemoteError{Text: w.Text, kinds: w.Kinds}
}

// server runs requests on the child's endpoint.
type server struct {
	ch    mailbox.Channel
	encMu sync.Mutex
	enc   *gob.Encoder
	mu    sync.Mutex
	ops   map[uint64]context.CancelFunc
	wg    sync.WaitGroup
}

func (s *server) reply(r *response) {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	_ = s.enc.Encode(r) // a broken connection ends serve's loop
}

func (s *server) serve(dec *gob.Decoder) error {
	for {
		var q request
		if err := dec.Decode(&q); err != nil {
			s.mu.Lock()
			for _, cancel := range s.ops {
				cancel()
			}
			s.mu.Unlock()
			return err
		}
		if q.Op == "cancel" {
			s.mu.Lock()
			if cancel := s.ops[q.ID]; cancel != nil {
				cancel()
			}
			s.mu.Unlock()
			continue
		}
		ctx, cancel := opContext(q.Deadline)
		s.mu.Lock()
		s.ops[q.ID] = cancel
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			r := s.run(ctx, &q)
			s.mu.Lock()
			delete(s.ops, q.ID)
			s.mu.Unlock()
			cancel()
			s.reply(r)
		}()
	}
}

// opContext returns the context of a request: with its deadline, if any.
func opContext(deadline time.Time) (context.Context, context.CancelFunc) {
	if deadline.IsZero() {
		return context.WithCancel(context.Background())
	}
	return context.WithDeadline(context.Background(), deadline)
}

func (s *server) run(ctx context.Context, q *request) *response {
	r := &response{ID: q.ID}
	var err error
	switch q.Op {
	case "send":
		err = s.ch.Send(ctx, q.Msg)
	case "trysend":
		err = s.ch.TrySend(q.Msg)
	case "recv", "tryrecv":
		buf := make([]byte, q.BufLen)
		if q.Op == "recv" {
			r.N, err = s.ch.Recv(ctx, buf)
		} else {
			r.N, err = s.ch.TryRecv(buf)
		}
		if err == nil {
			r.Data = buf[:r.N]
		}
	case "close":
		err = s.ch.Close()
	default:
		err = fmt.Errorf("unknown operation %q", q.Op)
	}
	r.Err = encodeErr(err)
	return r
}

// remote is the parent's proxy.
type remote struct {
	name string
	conn net.Conn
	dec  *gob.Decoder

	encMu sync.Mutex
	enc   *gob.Encoder

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan *response
	dead    error // set once the connection is gone
	maxMsg  int
	readErr chan struct{} // closed when the reader stops
}

func newRemote(conn net.Conn, name string) *remote {
	return &remote{
		name:    name,
		conn:    conn,
		dec:     gob.NewDecoder(conn),
		enc:     gob.NewEncoder(conn),
		pending: make(map[uint64]chan *response),
		readErr: make(chan struct{}),
	}
}

// hello reads the child's first response, then starts the reader.
func (r *remote) hello() error {
	var h response
	if err := r.dec.Decode(&h); err != nil {
		close(r.readErr)
		return fmt.Errorf("no hello: %w", err)
	}
	if h.Err != nil {
		close(r.readErr)
		return fmt.Errorf("opening: %w", h.Err.decode())
	}
	r.maxMsg = h.N
	go r.read()
	return nil
}

func (r *remote) read() {
	defer close(r.readErr)
	for {
		var resp response
		if err := r.dec.Decode(&resp); err != nil {
			r.fail(fmt.Errorf("connection to remote endpoint %q: %w (%w)", r.name, err, mailbox.ErrBroken))
			return
		}
		r.mu.Lock()
		c := r.pending[resp.ID]
		delete(r.pending, resp.ID)
		r.mu.Unlock()
		if c != nil {
			c <- &resp
		}
	}
}

// fail ends every pending call with err.
func (r *remote) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead == nil {
		r.dead = err
	}
	for id, c := range r.pending {
		c <- &response{ID: id, Err: encodeErr(r.dead)}
		delete(r.pending, id)
	}
}

// shutdown closes the connection and waits for the reader.
func (r *remote) shutdown(err error) {
	r.fail(err)
	r.conn.Close()
	<-r.readErr
}

// call sends q and waits for its response, forwarding ctx's cancellation.
func (r *remote) call(ctx context.Context, q *request) *response {
	if d, ok := ctx.Deadline(); ok {
		q.Deadline = d
	}
	c := make(chan *response, 1)
	r.mu.Lock()
	if r.dead != nil {
		err := r.dead
		r.mu.Unlock()
		return &response{Err: encodeErr(err)}
	}
	r.nextID++
	q.ID = r.nextID
	r.pending[q.ID] = c
	r.mu.Unlock()
	if err := r.send(q); err != nil {
		r.fail(fmt.Errorf("connection to remote endpoint %q: %w (%w)", r.name, err, mailbox.ErrBroken))
	}
	select {
	case resp := <-c:
		return resp
	case <-ctx.Done():
	}
	// The child sees a deadline itself; a cancellation is sent on.
	if errors.Is(ctx.Err(), context.Canceled) {
		_ = r.send(&request{ID: q.ID, Op: "cancel"})
	}
	return <-c
}

func (r *remote) send(q *request) error {
	r.encMu.Lock()
	defer r.encMu.Unlock()
	return r.enc.Encode(q)
}

func (r *remote) Send(ctx context.Context, msg []byte) error {
	return r.call(ctx, &request{Op: "send", Msg: msg}).Err.decode()
}

func (r *remote) TrySend(msg []byte) error {
	return r.call(context.Background(), &request{Op: "trysend", Msg: msg}).Err.decode()
}

func (r *remote) Recv(ctx context.Context, buf []byte) (int, error) {
	return r.recv(ctx, "recv", buf)
}

func (r *remote) TryRecv(buf []byte) (int, error) {
	return r.recv(context.Background(), "tryrecv", buf)
}

func (r *remote) recv(ctx context.Context, op string, buf []byte) (int, error) {
	resp := r.call(ctx, &request{Op: op, BufLen: len(buf)})
	copy(buf, resp.Data)
	return resp.N, resp.Err.decode()
}

func (r *remote) MaxMessage() int { return r.maxMsg }

func (r *remote) Close() error {
	return r.call(context.Background(), &request{Op: "close"}).Err.decode()
}

// Echo sends back every message ch receives, until it receives an empty
// one (nil then) or an operation fails (that error): the peer of the
// round-trip tests, in a goroutine or a child process.
func Echo(ctx context.Context, ch mailbox.Channel) error {
	buf := make([]byte, ch.MaxMessage())
	for {
		n, err := ch.Recv(ctx, buf)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := ch.Send(ctx, buf[:n]); err != nil {
			return err
		}
	}
}
