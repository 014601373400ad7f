package vm

import (
	"bytes"
	"fmt"
	"os"
)

// The shared-memory check between the host and the guest tests: before
// boot, Run writes Pattern("host", seed) at HostOffset of the ivshmem file
// and passes ipcu.seed=<seed> on the kernel command line; the guest checks
// it through the device's BAR2 and writes Pattern("guest", seed) at
// GuestOffset, which CheckGuestPattern verifies after the VM exits.
const (
	HostOffset  = 0
	GuestOffset = 1 << 20
	PatternLen  = 4096
)

// Pattern returns the PatternLen bytes that side ("host" or "guest") writes
// into the shared memory for seed.
func Pattern(side, seed string) []byte {
	s := side + ":" + seed
	b := make([]byte, PatternLen)
	for i := range b {
		b[i] = byte(i) ^ s[i%len(s)]
	}
	return b
}

// Mismatch compares got with want and describes the first difference, or
// returns "" when they are equal.
func Mismatch(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	for i := range want {
		if i >= len(got) {
			return fmt.Sprintf("only %d of %d bytes", len(got), len(want))
		}
		if got[i] != want[i] {
			return fmt.Sprintf("byte %#x is %#02x, want %#02x", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("%d bytes, want %d", len(got), len(want))
}

// writeHostPattern writes the host's pattern into the shared file.
func writeHostPattern(path, seed string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(Pattern("host", seed), HostOffset)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CheckGuestPattern reports whether the guest's pattern for seed is in the
// shared file at path.
func CheckGuestPattern(path, seed string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	got := make([]byte, PatternLen)
	if _, err := f.ReadAt(got, GuestOffset); err != nil {
		return fmt.Errorf("reading the guest's pattern: %w", err)
	}
	if m := Mismatch(got, Pattern("guest", seed)); m != "" {
		return fmt.Errorf("the guest's pattern is not in %s: %s", path, m)
	}
	return nil
}
