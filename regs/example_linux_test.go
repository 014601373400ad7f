package regs_test

import (
	"fmt"
	"os"

	"github.com/ipcu/ipcu/regs"
)

// Map maps a device's registers, here a temporary file standing in for /dev/uio0.
func ExampleMap() {
	f, err := os.CreateTemp("", "regs-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := f.Truncate(4096); err != nil {
		fmt.Println(err)
		return
	}
	w, err := regs.Map(int(f.Fd()), 0, 4096, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()
	w.Write32(0x10, 0xcafe)
	fmt.Printf("%#x\n", w.Read32(0x10))
	// Output: 0xcafe
}
