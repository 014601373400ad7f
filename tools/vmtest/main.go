package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ipcu/ipcu/tools/vmtest/vm"
)

func main() {
	var c vm.Config
	run := flag.String("run", "", "run only the guest tests matching `regexp`")
	console := flag.Bool("console", false, "copy the whole guest console to stderr as it arrives")
	flag.BoolVar(&c.KVM, "kvm", false, "try KVM first, falling back to TCG")
	flag.DurationVar(&c.Timeout, "timeout", 3*time.Minute, "kill the VM after `d`")
	flag.StringVar(&c.Kernel, "kernel", "", "kernel image (default: the newest /boot/vmlinuz-*)")
	flag.StringVar(&c.Append, "append", "", "extra kernel command line")
	flag.Parse()
	if *run != "" {
		c.TestArgs = append(c.TestArgs, "-test.run", *run)
	}
	if *console {
		c.Console = os.Stderr
	}
	shm, err := os.CreateTemp("", "ipcu-vmtest-shm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmtest:", err)
		os.Exit(1)
	}
	shm.Close()
	defer os.Remove(shm.Name())
	c.SharedMem = shm.Name()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := vm.Run(ctx, c)
	if err == nil {
		err = vm.CheckGuestPattern(c.SharedMem, res.Seed)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmtest:", err)
		os.Remove(c.SharedMem)
		os.Exit(1)
	}
	fmt.Print(res.Output)
	fmt.Printf("vmtest: guest tests passed; VM ran %v\n", res.Boot.Round(time.Millisecond))
}
