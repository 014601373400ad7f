// Command regsgen generates a typed Go register map from a CMSIS-SVD file.
//
// Usage:
//
//	regsgen -svd FILE -pkg NAME [-peripherals A,B] [-o OUT.go] [-test]
//
// For each chosen peripheral (all when -peripherals is empty) it writes:
//
//   - a struct type with one typed register (regs.RO, regs.WO, regs.RW or
//     regs.RC) per register, Go arrays for SVD arrays ("MBOX[%s]") and
//     nested struct types for clusters, and a constructor New<PERIPH>(bus,
//     base) that checks once that the block fits on the bus, so that no
//     register access can be out of range or misaligned afterwards;
//   - a variable per register holding its typed fields (regs.ROField,
//     RWField, WOField, W1CField, W1SField, RCField), named after the
//     register's path with clusters joined by '_' (MBOX_STATUS), and
//     prefixed with the peripheral's name when several peripherals are
//     generated;
//   - a named type per enumerated field, with constants and String();
//   - Description, the regs.Description of the generated peripherals.
//
// Registers are addressed relative to the peripheral: userspace maps a block
// at an arbitrary address, so base addresses from the SVD are only recorded
// in the Description.
//
// With -test it also writes OUT_test.go, a test that parses the SVD again
// and checks every register's offset, width and access and every field's
// position and kind in the generated code against it.
//
// Use it from a go:generate line:
//
//	//go:generate go run github.com/ipcu/ipcu/tools/regsgen -svd ipcu.svd -pkg ipcu -o ipcu_gen.go -test
//
// Exit status: 0 on success, 1 on a generation error, 2 on bad usage.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("regsgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		svdPath = fs.String("svd", "", "the CMSIS-SVD `file` to read (required)")
		pkg     = fs.String("pkg", "", "the Go package `name` of the output (required)")
		periphs = fs.String("peripherals", "", "comma-separated peripheral `names` to generate (default all)")
		out     = fs.String("o", "", "output `file` (default standard output)")
		test    = fs.Bool("test", false, "also write a test of the output against the SVD, next to -o")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: regsgen -svd FILE -pkg NAME [-peripherals A,B] [-o OUT.go] [-test]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *svdPath == "" || *pkg == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if *test && *out == "" {
		fmt.Fprintln(stderr, "regsgen: -test needs -o")
		return 2
	}
	var names []string
	if *periphs != "" {
		names = strings.Split(*periphs, ",")
	}
	opts := Options{SVD: *svdPath, Package: *pkg, Peripherals: names, OutDir: filepath.Dir(*out)}
	code, testCode, err := Generate(opts)
	if err != nil {
		fmt.Fprintf(stderr, "regsgen: %v\n", err)
		return 1
	}
	if *out == "" {
		if _, err := stdout.Write(code); err != nil {
			fmt.Fprintf(stderr, "regsgen: %v\n", err)
			return 1
		}
		return 0
	}
	if err := writeFile(*out, code); err != nil {
		fmt.Fprintf(stderr, "regsgen: %v\n", err)
		return 1
	}
	if *test {
		if err := writeFile(strings.TrimSuffix(*out, ".go")+"_test.go", testCode); err != nil {
			fmt.Fprintf(stderr, "regsgen: %v\n", err)
			return 1
		}
	}
	return 0
}

// writeFile replaces name with data only when it differs, so that an
// unchanged map keeps its modification time.
func writeFile(name string, data []byte) error {
	if old, err := os.ReadFile(name); err == nil && string(old) == string(data) {
		return nil
	}
	return os.WriteFile(name, data, 0o644)
}
