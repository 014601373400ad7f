package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/ipcu/ipcu/dmaring"
	"github.com/ipcu/ipcu/shm"
)

// shm across two processes: ipcbench re-executes itself as the peer,
// handing it the channel's descriptors (Channel.Files, through
// exec.Cmd.ExtraFiles); the child attaches with shm.FromFiles and serves
// the messages it receives by their first byte: markData is echoed,
// markSink is dropped, markStop is echoed and ends the child.

// childEnv names the child's role in its environment: its value is the
// busy-poll budget.
const childEnv = "IPCBENCH_SHM_PEER"

// markSink is a streamed message, which the peer process does not echo.
const markSink = 0x33

// childMain runs the peer process if this is one, and returns its exit
// code; ok is false in the parent.
func childMain() (code int, ok bool) {
	v, ok := os.LookupEnv(childEnv)
	if !ok {
		return 0, false
	}
	if err := servePeer(v); err != nil {
		fmt.Fprintf(os.Stderr, "ipcbench: shm peer process: %v\n", err)
		return exitFailure, true
	}
	return exitOK, true
}

func servePeer(poll string) error {
	bp, err := strconv.Atoi(poll)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", childEnv, poll, err)
	}
	files := []*os.File{os.NewFile(3, "memfd"), os.NewFile(4, "eventfd"), os.NewFile(5, "eventfd")}
	ch, err := shm.FromFiles(files, &shm.Options{BusyPoll: bp})
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx := context.Background()
	buf := make([]byte, ch.MaxMessage())
	for {
		n, err := ch.Recv(ctx, buf)
		if err != nil {
			return err
		}
		switch {
		case n > 0 && buf[0] == markSink:
		case n > 0 && buf[0] == markStop:
			return ch.Send(ctx, buf[:n])
		default:
			if err := ch.Send(ctx, buf[:n]); err != nil {
				return err
			}
		}
	}
}

// shmProcOpener makes a channel and starts the peer process on it.
func shmProcOpener(poll int) func(*env, int) (*pair, error) {
	return func(_ *env, size int) (*pair, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, skip(fmt.Sprintf("cannot re-execute ipcbench: %v", err))
		}
		slot := (size + dmaring.SlotHeaderSize + 7) &^ 7
		ch, err := shm.Create(&shm.Options{Slots: 64, SlotSize: slot, BusyPoll: poll})
		if err != nil {
			return nil, err
		}
		files, err := ch.Files()
		if err != nil {
			ch.Close()
			return nil, err
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(poll))
		cmd.ExtraFiles = files
		cmd.Stderr = os.Stderr
		err = cmd.Start()
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			ch.Close()
			if errors.Is(err, syscall.ENOEXEC) {
				// Run under a user-mode emulator (qemu-user) without a
				// binfmt_misc handler, the kernel cannot run the binary.
				return nil, skip(fmt.Sprintf("cannot run ipcbench again as the peer: %v", err))
			}
			return nil, fmt.Errorf("starting the peer process: %w", err)
		}
		if err := ch.WatchProcess(cmd.Process); err != nil {
			ch.Close()
			cmd.Process.Kill()
			cmd.Wait()
			return nil, err
		}
		return &pair{
			a:     chanEnd{ch},
			abort: func() { ch.Close() },
			close: func() error {
				// The peer ends after a stop message, or when the channel
				// closes under it.
				errs := []error{ch.Close()}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					errs = append(errs, err)
				case <-time.After(5 * time.Second):
					cmd.Process.Kill()
					errs = append(errs, errors.New("the peer process did not exit"), <-done)
				}
				return errors.Join(errs...)
			},
			stream: func(m *measure, size int) (*Throughput, error) { return streamRemote(m, ch, size) },
		}, nil
	}
}

// streamRemote streams to the peer process: m.warmup messages, then,
// timed, m.n and a stop message, whose echo stops the clock.
func streamRemote(m *measure, ch *shm.Channel, size int) (*Throughput, error) {
	ctx := context.Background()
	msg := make([]byte, size)
	msg[0] = markSink
	for range m.warmup {
		if err := ch.Send(ctx, msg); err != nil {
			return nil, fmt.Errorf("sending: %w", err)
		}
	}
	start := time.Now()
	end := m.deadline(start)
	sent := 0
	for ; sent < m.n; sent++ {
		if !end.IsZero() && sent%64 == 0 && time.Now().After(end) {
			break
		}
		if err := ch.Send(ctx, msg); err != nil {
			return nil, fmt.Errorf("sending: %w", err)
		}
	}
	msg[0] = markStop
	if err := ch.Send(ctx, msg); err != nil {
		return nil, fmt.Errorf("sending: %w", err)
	}
	if _, err := ch.Recv(ctx, msg); err != nil {
		return nil, fmt.Errorf("receiving the stop's echo: %w", err)
	}
	return newThroughput(int64(sent), time.Since(start), size, 1), nil
}
