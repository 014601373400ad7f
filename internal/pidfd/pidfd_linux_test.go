package pidfd

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/ipcu/ipcu/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

func TestExit(t *testing.T) {
	cmd := sleeper(t)
	exited := make(chan struct{})
	w, err := Watch(cmd.Process, func() { close(exited) })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	select {
	case <-exited:
		t.Fatal("exited before the process did")
	default:
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the exit was not seen")
	}
}

// Close before the exit: no call, and nothing left running or open.
func TestCloseFirst(t *testing.T) {
	cmd := sleeper(t)
	called := make(chan struct{}, 1)
	w, err := Watch(cmd.Process, func() { called <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	select {
	case <-called:
		t.Fatal("exited was called after Close")
	default:
	}
	var nilw *Watcher
	if err := nilw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNoSuchProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	// Reaped: its PID names nothing (or, rarely, a new process).
	if w, err := Watch(cmd.Process, func() {}); err == nil {
		w.Close()
		t.Skip("the PID was reused")
	} else if !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("Watch of a reaped process: %v, want ESRCH", err)
	}
}
