package ipcctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// SchemaVersion is the version of the JSON documents the commands print
// with -json. It changes only when a field is removed or changes meaning;
// new fields may appear in any version.
const SchemaVersion = 1

// Exit codes.
const (
	// ExitOK: the command did what it was asked; every check passed.
	ExitOK = 0
	// ExitFail: the command failed, or a check (selftest, doctor) failed.
	ExitFail = 1
	// ExitUsage: the command line is wrong.
	ExitUsage = 2
	// ExitNotFound: the device named does not exist.
	ExitNotFound = 3
	// ExitPermission: the command needs privileges it does not have.
	ExitPermission = 4
)

// Env is where a command runs: its output streams and the root of the
// kernel's file systems.
type Env struct {
	// Stdout receives the command's output, Stderr its diagnostics and
	// progress.
	Stdout, Stderr io.Writer
	// Root is the directory holding sys, proc, dev and run: "" or "/" for
	// the machine's own, or a fake tree for tests. The -root flag of
	// list, bind, unbind, doctor and the commands that open a device
	// overrides it.
	Root string

	// binder replaces the PCI bus for bind and unbind (tests: a fake
	// kernel on a fake sysfs tree).
	binder func(sysRoot string) pciBinder
	// progressEvery is how often long work reports progress on Stderr;
	// 0 means every second.
	progressEvery time.Duration
	// json is the global -json, the default of every command's.
	json bool
}

// Run runs the command line args (without the program name) and returns
// the exit code. ctx cancels long-running commands (irq watch, mbox recv):
// cancelling it is how SIGINT ends them, successfully.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	err := dispatch(ctx, args, &env)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var ce *cliError
	if errors.As(err, &ce) && ce.code == ExitUsage {
		if ce.err != nil {
			fmt.Fprintf(env.Stderr, "ipcctl: %v\n", ce.err)
		}
		switch ce.usage {
		case "":
			fmt.Fprint(env.Stderr, "Run 'ipcctl help' for the commands, 'ipcctl COMMAND -h' for a command's flags.\n")
		case printedUsage:
		default:
			fmt.Fprint(env.Stderr, ce.usage)
		}
		return ExitUsage
	}
	if errors.As(err, &ce) && ce.err == nil {
		return ce.code // the command printed its own report
	}
	fmt.Fprintf(env.Stderr, "ipcctl: %v\n", err)
	return exitCode(err)
}

// Usage is the top-level help.
const Usage = `usage: ipcctl [-json] COMMAND [ARGS]

commands:
  list                               UIO, VFIO and PCI devices: driver, IOMMU group, regions, interrupts
  bind ADDR [DRIVER]                 bind a PCI function to vfio-pci (default) or uio_pci_generic
  unbind ADDR                        give a PCI function back to the driver it had before bind
  regs map [-svd FILE] [PERIPH...]   print a register map (default: the reference IPCU block)
  regs dump DEVICE                   read every register and decode its fields
  regs read DEVICE REG...            read registers (name, FIELD of REG.FIELD, or offset)
  regs write DEVICE REG[.FIELD]=VALUE...
                                     write registers or single fields
  mbox send DEVICE MBOX MESSAGE      send a message on a mailbox
  mbox recv DEVICE MBOX              receive a message from a mailbox
  mbox ping DEVICE                   round trips through another core's mailbox
  irq watch DEVICE                   count interrupts: rate, missed, spurious
  selftest DEVICE                    the bring-up checklist: a PASS/FAIL report
  doctor                             what stands between this machine and a working device

devices: fake (the built-in model of the reference block), uio:NAME or uio:uioN,
vfio:DOMAIN:BUS:DEV.FN (e.g. vfio:0000:00:03.0).

-json (or --json) prints a JSON document (docs/ipcctl.md) instead of tables.
Exit status: 0 ok, 1 failure or a failed check, 2 usage, 3 device not found,
4 permission denied. Run 'ipcctl COMMAND -h' for a command's flags.
`

// cliError carries an exit code. A nil err means the command has printed
// its report and only the code is left to return.
type cliError struct {
	code  int
	err   error
	usage string // the command's usage, for ExitUsage
}

func (e *cliError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *cliError) Unwrap() error { return e.err }

// printedUsage marks a usage error whose usage the flag package printed.
const printedUsage = "\x00"

// usageError is a command-line mistake: exit status 2 with usage.
func usageError(usage, format string, a ...any) error {
	return &cliError{code: ExitUsage, err: fmt.Errorf(format, a...), usage: usage}
}

// exitStatus returns an error that makes Run exit with code without
// printing anything more.
func exitStatus(code int) error {
	if code == ExitOK {
		return nil
	}
	return &cliError{code: code}
}

// exitCode maps an error to an exit code.
func exitCode(err error) int {
	var ce *cliError
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, errNotFound):
		return ExitNotFound
	case errors.Is(err, os.ErrPermission):
		return ExitPermission
	}
	return ExitFail
}

// errNotFound marks a device that does not exist (exit status 3).
var errNotFound = errors.New("not found")

func dispatch(ctx context.Context, args []string, env *Env) error {
	// Global flags: -json before the command, and -root.
	jsonOut := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-json", "--json":
			jsonOut = true
			args = args[1:]
			continue
		case "-h", "-help", "--help":
			fmt.Fprint(env.Stdout, Usage)
			return nil
		}
		return usageError(Usage, "unknown flag %q", args[0])
	}
	if len(args) == 0 {
		return usageError(Usage, "no command")
	}
	env.json = jsonOut
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help":
		fmt.Fprint(env.Stdout, Usage)
		return nil
	case "list":
		return cmdList(rest, env)
	case "bind":
		return cmdBind(rest, env)
	case "unbind":
		return cmdUnbind(rest, env)
	case "doctor":
		return cmdDoctor(rest, env)
	case "selftest":
		return cmdSelftest(ctx, rest, env)
	case "regs", "mbox", "irq":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") && rest[0] != "-json" && rest[0] != "--json" {
			if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "-help" || rest[0] == "--help") {
				fmt.Fprint(env.Stdout, Usage)
				return nil
			}
			return usageError(Usage, "%s needs a subcommand", cmd)
		}
		sub, rest := rest[0], rest[1:]
		if sub == "-json" || sub == "--json" { // ipcctl regs -json dump ...
			if len(rest) == 0 {
				return usageError(Usage, "%s needs a subcommand", cmd)
			}
			env.json = true
			sub, rest = rest[0], rest[1:]
		}
		switch cmd + " " + sub {
		case "regs map":
			return cmdRegsMap(rest, env)
		case "regs dump":
			return cmdRegsDump(ctx, rest, env)
		case "regs read":
			return cmdRegsRead(ctx, rest, env)
		case "regs write":
			return cmdRegsWrite(ctx, rest, env)
		case "mbox send":
			return cmdMboxSend(ctx, rest, env)
		case "mbox recv":
			return cmdMboxRecv(ctx, rest, env)
		case "mbox ping":
			return cmdMboxPing(ctx, rest, env)
		case "irq watch":
			return cmdIRQWatch(ctx, rest, env)
		}
		return usageError(Usage, "unknown %s subcommand %q", cmd, sub)
	}
	return usageError(Usage, "unknown command %q", cmd)
}

// flags is a command's flag set with the flags every command has.
type flags struct {
	*flag.FlagSet
	usage string
	json  bool
	env   *Env
}

// newFlags returns the flag set of command name; synopsis is its usage
// line(s) and help what it does.
func newFlags(env *Env, name, synopsis, help string) *flags {
	f := &flags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), env: env}
	f.usage = "usage: ipcctl " + synopsis + "\n"
	f.SetOutput(env.Stderr)
	f.BoolVar(&f.json, "json", env.json, "print JSON (docs/ipcctl.md) instead of tables")
	f.Usage = func() {
		fmt.Fprint(env.Stderr, f.usage)
		if help != "" {
			fmt.Fprintf(env.Stderr, "\n%s\n", strings.TrimSpace(help))
		}
		fmt.Fprintf(env.Stderr, "\nflags:\n")
		f.PrintDefaults()
	}
	return f
}

// rootFlag adds -root to f, defaulting to the Env's.
func (f *flags) rootFlag() *string {
	def := f.env.Root
	if def == "" {
		def = "/"
	}
	return f.String("root", def, "the `directory` holding sys, proc, dev and run (a fake tree for tests)")
}

// parse parses args, interspersed flags and positional arguments alike,
// and checks the number of positional arguments.
func (f *flags) parse(args []string, min, max int) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &cliError{code: ExitUsage, usage: printedUsage} // flag printed the error and usage
		}
		args = f.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < min {
		return nil, usageError(f.usage, "%s: missing arguments", f.Name())
	}
	if max >= 0 && len(pos) > max {
		return nil, usageError(f.usage, "%s: too many arguments: %q", f.Name(), pos[max:])
	}
	return pos, nil
}

// isSet reports whether the flag name was given.
func (f *flags) isSet(name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// header is what every JSON document starts with.
type header struct {
	SchemaVersion int    `json:"schema_version"`
	Command       string `json:"command"`
}

func newHeader(cmd string) header { return header{SchemaVersion: SchemaVersion, Command: cmd} }

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, cols ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(cols) > 0 {
		t.row(cols...)
	}
	return t
}

func (t *table) row(cols ...string) { fmt.Fprintln(t.tw, strings.Join(cols, "\t")) }

func (t *table) flush() error { return t.tw.Flush() }

// rootPath joins the root directory and a system path ("/sys").
func rootPath(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return filepath.Join(root, p)
}

// progress reports, on Stderr, what long work is doing, once a second
// after the first second.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	what  string
	step  string
	start time.Time
	stop  chan struct{}
	done  chan struct{}

	endOnce sync.Once
}

func startProgress(env *Env, what string) *progress {
	p := &progress{w: env.Stderr, what: what, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	every := env.progressEvery
	if every == 0 {
		every = time.Second
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				fmt.Fprintf(p.w, "ipcctl: %s: %s (%s)\n", p.what, p.step, time.Since(p.start).Round(time.Second))
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// set names the current step.
func (p *progress) set(format string, a ...any) {
	p.mu.Lock()
	p.step = fmt.Sprintf(format, a...)
	p.mu.Unlock()
}

// printf writes a line to Stderr between the reports.
func (p *progress) printf(format string, a ...any) {
	p.mu.Lock()
	fmt.Fprintf(p.w, format, a...)
	p.mu.Unlock()
}

// end stops the reports. It may be called more than once.
func (p *progress) end() {
	p.endOnce.Do(func() { close(p.stop) })
	<-p.done
}
