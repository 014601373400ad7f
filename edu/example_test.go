package edu_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ipcu/ipcu/edu"
	"github.com/ipcu/ipcu/uio"
)

// Driving edu through uio_pci_generic: BAR0 from the PCI resource file, the
// INTx line from the UIO device, and no DMA (UIO has no IOMMU). It needs
// the device bound to uio_pci_generic, so it has no output to check.
func Example() {
	u, err := uio.Open("uio0", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer u.Close()
	bar0, err := u.PCIResource(0)
	if err != nil {
		log.Fatal(err)
	}
	defer bar0.Close()
	dev, err := edu.New(bar0, u.IRQ(), nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	f, err := dev.Factorial(ctx, 10)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("10! =", f)
}
