package ebpf_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/ipcu/ipcu/ebpf"
)

// A server creates a channel in bpffs; a client process opens it by path.
// Needs CAP_BPF and a bpffs at /sys/fs/bpf, so it is compiled, not run.
func ExampleCreate() {
	dir := "/sys/fs/bpf/ipcu-example"
	server, err := ebpf.Create(dir, &ebpf.Options{
		Flavour:    ebpf.MmapArray,
		Depth:      64,
		MaxMessage: 240,
		BusyPoll:   100,
	})
	if err != nil {
		fmt.Println(err) // wraps ebpf.ErrNotSupported without bpffs or CAP_BPF
		return
	}
	defer server.Close() // removes the pins

	client := exec.Command("/usr/local/bin/client", dir)
	if err := client.Start(); err != nil {
		fmt.Println(err)
		return
	}
	// A Recv on an empty channel fails once the client has exited.
	if err := server.WatchProcess(client.Process); err != nil {
		fmt.Println(err)
		return
	}
	defer client.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	buf := make([]byte, server.MaxMessage())
	n, err := server.Recv(ctx, buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("client says %q\n", buf[:n])
}

// The client's side: open the pins the server made, and refuse a channel
// larger than planned for.
func ExampleOpen() {
	c, err := ebpf.Open(os.Args[1], &ebpf.Options{
		Limits: ebpf.Limits{Depth: 1024, Message: 4096, Memory: 1 << 20},
	})
	if err != nil {
		fmt.Println(err) // os.ErrPermission if the pins' mode refuses this uid
		return
	}
	defer c.Close()
	if err := c.Send(context.Background(), []byte("hello")); err != nil {
		fmt.Println(err)
	}
}
