// Command ipcctl is the bring-up tool for IPC blocks.
//
// Usage:
//
//	ipcctl regs map [-svd FILE] [PERIPHERAL...]
//
// regs map prints a register map as a datasheet table: every register with
// its offset, access and reset value, every field with its position, kind
// (RO, WO, RW, W1C, W1S, RC), reset value and description, and the named
// values of enumerated fields. Without -svd it prints the map of the
// reference IPC block built into ipcu (docs/ipcu.md); with -svd it prints
// the peripherals of any CMSIS-SVD file (all of them, or those named).
//
// Exit status: 0 on success, 1 when the command fails, 2 on bad usage.
//
// Later versions add the device commands (list, bind, regs dump, mbox, irq,
// selftest, doctor); see the project's issues.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ipcu/ipcu/regs"
	"github.com/ipcu/ipcu/regs/ipcu"
	"github.com/ipcu/ipcu/regs/svd"
)

const usage = `usage: ipcctl COMMAND [ARGS]

commands:
  regs map [-svd FILE] [PERIPHERAL...]   print a register map (default: the reference IPCU block)

Run 'ipcctl COMMAND -h' for a command's flags.
`

// errUsage marks an error in the command line: exit status 2.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		if msg := err.Error(); msg != errUsage.Error() {
			fmt.Fprintf(stderr, "ipcctl: %s\n", msg)
		}
		fmt.Fprint(stderr, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "ipcctl: %v\n", err)
		return 1
	}
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "regs":
		if len(args) < 2 {
			return fmt.Errorf("regs needs a subcommand: %w", errUsage)
		}
		switch args[1] {
		case "map":
			return regsMap(args[2:], stdout, stderr)
		}
		return fmt.Errorf("unknown regs subcommand %q: %w", args[1], errUsage)
	}
	return fmt.Errorf("unknown command %q: %w", args[0], errUsage)
}

func regsMap(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("regs map", flag.ContinueOnError)
	fs.SetOutput(stderr)
	svdPath := fs.String("svd", "", "read the register map from this CMSIS-SVD `file` instead of the built-in IPCU map")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ipcctl regs map [-svd FILE] [PERIPHERAL...]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("regs map: %v: %w", err, errUsage)
	}
	desc := ipcu.Description
	if *svdPath != "" {
		dev, err := svd.ParseFile(*svdPath)
		if err != nil {
			return err
		}
		if desc, err = dev.Describe(fs.Args()...); err != nil {
			return err
		}
	}
	var ps []*regs.Peripheral
	if *svdPath != "" || fs.NArg() == 0 {
		for i := range desc.Peripherals {
			ps = append(ps, &desc.Peripherals[i])
		}
	} else {
		for _, name := range fs.Args() {
			p := desc.Peripheral(name)
			if p == nil {
				return fmt.Errorf("regs map: no peripheral %q in the built-in map", name)
			}
			ps = append(ps, p)
		}
	}
	for i, p := range ps {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err := regs.WriteMap(stdout, p); err != nil {
			return err
		}
	}
	return nil
}
