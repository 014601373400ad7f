package uio_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ipcu/ipcu/uio"
)

// ExampleOpen serves the interrupts of a platform device exported by
// uio_pdrv_genirq. It needs the device, so it has no output to check.
func ExampleOpen() {
	dev, err := uio.Open("ipcu-mailbox", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()

	regs, err := dev.Map(0)
	if err != nil {
		log.Fatal(err)
	}
	base := uintptr(dev.Info().Maps[0].Offset) // the region within its page
	irq := dev.IRQ()
	for {
		n, err := irq.Wait(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		status := regs.Read32(base + 0x10)
		regs.Write32(base+0x14, status) // clear what was handled
		if err := irq.Ack(); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d interrupt(s), status %#x\n", n, status)
	}
}

// ExampleDevice_PCIResource maps BAR 0 of a PCI function bound to
// uio_pci_generic and unmasks its INTx.
func ExampleDevice_PCIResource() {
	dev, err := uio.Open("uio_pci_generic", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()
	bar0, err := dev.PCIResource(0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: BAR 0 is %d bytes, id %#x\n", dev.Info().PCI, bar0.Size(), bar0.Read32(0))
	if err := dev.EnableINTx(); err != nil {
		log.Fatal(err)
	}
}

// ExampleList prints the UIO devices of the machine.
func ExampleList() {
	devs, err := uio.List(nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range devs {
		fmt.Println(d.Node, d.Name, len(d.Maps), "maps", d.PCI)
	}
}
