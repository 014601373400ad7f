package vm

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Modules are the kernel modules the guest loads, in dependency order, as
// paths under /lib/modules/<version>/kernel without the .ko suffix.
var Modules = []string{
	"drivers/uio/uio",
	"drivers/uio/uio_pci_generic",
	"virt/lib/irqbypass",
	"drivers/vfio/vfio",
	"drivers/vfio/vfio_iommu_type1",
	"drivers/vfio/vfio_virqfd",
	"drivers/vfio/pci/vfio-pci-core",
	"drivers/vfio/pci/vfio-pci",
}

// ErrMissing reports that something the harness needs (QEMU, a kernel,
// busybox, a module) is not installed. Tests gate on it.
var ErrMissing = errors.New("not installed")

// Config says what to boot and how. The zero value boots the newest Debian
// kernel in /boot with the guest tests of ./guest under software emulation.
type Config struct {
	// RepoRoot is the module's top directory; "" means the nearest parent
	// of the working directory holding go.mod.
	RepoRoot string
	// Package is the guest test package, relative to RepoRoot; "" means
	// "./guest/". It is built with the ipcu_guest tag.
	Package string
	// TestArgs are passed to the guest test binary after -test.v.
	TestArgs []string
	// Append is added to the kernel command line.
	Append string
	// Seed is the shared-memory check's seed (see Pattern), passed to the
	// guest as ipcu.seed=<Seed>; "" means a random one, in Result.Seed.
	Seed string

	// Kernel is the kernel image; "" means the newest /boot/vmlinuz-*.
	Kernel string
	// ModulesDir is the kernel's modules tree; "" means
	// /lib/modules/<version> with the version taken from Kernel's name.
	ModulesDir string
	// Busybox is a statically linked busybox; "" means busybox from PATH.
	Busybox string
	// QEMU is the emulator; "" means qemu-system-x86_64 from PATH.
	QEMU string

	// SharedMem is the host file backing the guest's ivshmem-plain BAR2.
	// "" means a temporary file that Run removes. Run creates the file when
	// missing and makes it SharedMemSize bytes long, keeping its contents.
	SharedMem string
	// SharedMemSize is the ivshmem size, a power of two; 0 means 4 MiB.
	SharedMemSize int64

	// KVM asks for hardware acceleration, falling back to TCG when KVM is
	// unavailable. Off by default: on the machines this was tried on, a
	// KVM guest did not boot.
	KVM bool
	// Timeout bounds the boot and the tests (not the build); 0 means 3
	// minutes. QEMU is killed when it expires.
	Timeout time.Duration
	// Console, when not nil, receives the guest console as it arrives.
	Console io.Writer
}

// Result is what a run produced.
type Result struct {
	Output   string        // the guest tests' output, between the markers
	ExitCode int           // the guest test binary's exit code; -1 when unknown
	Console  string        // the whole console, kernel messages included
	Boot     time.Duration // from starting QEMU to its exit
	Seed     string        // the shared-memory check's seed
}

// Error is a failed run. It carries the guest output, so that printing
// the error shows what went wrong inside the VM.
type Error struct {
	Err    error
	Result *Result
}

// Error returns the cause followed by the guest tests' output, or the end
// of the console when the tests never started.
func (e *Error) Error() string {
	out := e.Result.Output
	if out == "" {
		out = lastLines(e.Result.Console, 60)
	}
	return fmt.Sprintf("%v\n--- guest output:\n%s", e.Err, out)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Find fills in the Kernel, ModulesDir, Busybox and QEMU fields of a copy
// of c that were left empty, checking that each exists. Errors wrap
// ErrMissing when something is not installed.
func Find(c Config) (Config, error) {
	if c.QEMU == "" {
		p, err := exec.LookPath("qemu-system-x86_64")
		if err != nil {
			return c, fmt.Errorf("qemu-system-x86_64 %w (Debian: qemu-system-x86)", ErrMissing)
		}
		c.QEMU = p
	}
	if c.Kernel == "" {
		ks, _ := filepath.Glob("/boot/vmlinuz-*")
		if len(ks) == 0 {
			return c, fmt.Errorf("/boot/vmlinuz-* %w (Debian: linux-image-amd64)", ErrMissing)
		}
		sort.Slice(ks, func(i, j int) bool { return versionLess(ks[i], ks[j]) })
		c.Kernel = ks[len(ks)-1]
	}
	// Opened, not only stat'ed: some distributions make /boot/vmlinuz-*
	// readable by root only, which QEMU would find out too late.
	f, err := os.Open(c.Kernel)
	if err != nil {
		return c, fmt.Errorf("kernel: %w: %v", ErrMissing, err)
	}
	f.Close()
	if c.ModulesDir == "" {
		ver := strings.TrimPrefix(filepath.Base(c.Kernel), "vmlinuz-")
		c.ModulesDir = filepath.Join("/lib/modules", ver)
	}
	if _, err := os.Stat(filepath.Join(c.ModulesDir, "kernel")); err != nil {
		return c, fmt.Errorf("kernel modules: %w: %v", ErrMissing, err)
	}
	if c.Busybox == "" {
		p, err := exec.LookPath("busybox")
		if err != nil {
			return c, fmt.Errorf("busybox %w (Debian: busybox-static)", ErrMissing)
		}
		c.Busybox = p
	}
	if err := checkStatic(c.Busybox); err != nil {
		return c, err
	}
	return c, nil
}

// versionLess orders /boot/vmlinuz-6.1.0-9-amd64 before ...-6.1.0-10-amd64.
func versionLess(a, b string) bool {
	num := regexp.MustCompile(`\d+|\D+`)
	pa, pb := num.FindAllString(a, -1), num.FindAllString(b, -1)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == pb[i] {
			continue
		}
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea == nil && eb == nil {
			return na < nb
		}
		return pa[i] < pb[i]
	}
	return len(pa) < len(pb)
}

// checkStatic fails unless path is a statically linked ELF: the initramfs
// has no dynamic loader or libc.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("busybox %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox %s is dynamically linked; a static one is %w (Debian: busybox-static)", path, ErrMissing)
		}
	}
	return nil
}

// Run builds the guest tests and an initramfs, boots them under QEMU and
// waits for the guest to power off or for the timeout. It returns an
// *Error holding the guest output when the VM or the tests failed.
func Run(ctx context.Context, c Config) (*Result, error) {
	c, err := Find(c)
	if err != nil {
		return nil, err
	}
	if c.RepoRoot == "" {
		if c.RepoRoot, err = repoRoot(); err != nil {
			return nil, err
		}
	}
	if c.Package == "" {
		c.Package = "./guest/"
	}
	if c.SharedMemSize == 0 {
		c.SharedMemSize = 4 << 20
	}
	if c.Timeout == 0 {
		c.Timeout = 3 * time.Minute
	}

	work, err := os.MkdirTemp("", "ipcu-vmtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	bin := filepath.Join(work, "guest.test")
	if err := buildGuest(ctx, c, bin); err != nil {
		return nil, err
	}
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	marker := "IPCU-VMTEST-" + hex.EncodeToString(nonce)
	initrd := filepath.Join(work, "initrd.gz")
	if err := writeInitramfs(c, bin, marker, initrd); err != nil {
		return nil, err
	}

	shm := c.SharedMem
	if shm == "" {
		shm = filepath.Join(work, "ivshmem")
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			f, err := os.CreateTemp("/dev/shm", "ipcu-vmtest-")
			if err != nil {
				return nil, err
			}
			shm = f.Name()
			f.Close()
			defer os.Remove(shm)
		}
	}
	if err := sizeFile(shm, c.SharedMemSize); err != nil {
		return nil, err
	}
	if c.Seed == "" {
		_, _ = rand.Read(nonce)
		c.Seed = hex.EncodeToString(nonce)
	}
	if err := writeHostPattern(shm, c.Seed); err != nil {
		return nil, fmt.Errorf("writing the host's pattern: %w", err)
	}
	res, err := boot(ctx, c, initrd, shm, marker)
	if res != nil {
		res.Seed = c.Seed
	}
	return res, err
}

// buildGuest compiles the guest tests into a static Linux binary.
func buildGuest(ctx context.Context, c Config, out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command %w: %v", ErrMissing, err)
	}
	cmd := exec.CommandContext(ctx, goBin, "test", "-c", "-tags", "ipcu_guest", "-o", out, c.Package)
	cmd.Dir = c.RepoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the guest tests (%s): %w\n%s", c.Package, err, b)
	}
	if _, err := os.Stat(out); err != nil {
		return fmt.Errorf("building the guest tests (%s): no test binary (no test files?): %w", c.Package, err)
	}
	return nil
}

// initScript is the guest's /init. %[1]s is the marker, %[2]s the test
// arguments.
const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
for m in /lib/modules/*.ko; do
	insmod "$m" || echo "init: insmod $m failed"
done
cd /tmp
echo "%[1]s-BEGIN"
IPCU_REQUIRE_ALL=1 /guest.test -test.v %[2]s 2>&1
echo "%[1]s-END rc=$?"
sync
poweroff -f
`

// shellQuote quotes s for the guest's sh: a -run pattern such as "A|B"
// must reach the test binary whole, not make a pipeline whose status the
// script would report.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeInitramfs writes the gzip'd cpio archive the guest boots from.
func writeInitramfs(c Config, bin, marker, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	a := NewInitramfs(zw)
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "lib/modules"} {
		_ = a.Dir(d, 0o755)
	}
	_ = a.CharDev("dev/console", 0o600, 5, 1)
	add := func(name, src string) {
		b, err := os.ReadFile(src)
		if err != nil {
			a.err = err
			return
		}
		_ = a.File(name, 0o755, b)
	}
	add("bin/busybox", c.Busybox)
	add("guest.test", bin)
	for i, m := range Modules {
		b, err := readModule(c.ModulesDir, m)
		if errors.Is(err, errBuiltin) {
			continue
		}
		if err != nil {
			return err
		}
		// The number keeps the load order when the shell sorts the names.
		_ = a.File(fmt.Sprintf("lib/modules/%02d-%s.ko", i, filepath.Base(m)), 0o644, b)
	}
	quoted := make([]string, len(c.TestArgs))
	for i, arg := range c.TestArgs {
		quoted[i] = shellQuote(arg)
	}
	_ = a.File("init", 0o755, []byte(fmt.Sprintf(initScript, marker, strings.Join(quoted, " "))))
	if err := a.Close(); err != nil {
		return fmt.Errorf("writing the initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("writing the initramfs: %w", err)
	}
	return f.Close()
}

var errBuiltin = errors.New("built in")

// readModule returns the uncompressed module m (a path under kernel/
// without suffix), or errBuiltin when the kernel has it built in.
func readModule(dir, m string) ([]byte, error) {
	base := filepath.Join(dir, "kernel", m)
	if b, err := os.ReadFile(base + ".ko"); err == nil {
		return b, nil
	}
	if b, err := os.ReadFile(base + ".ko.gz"); err == nil {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", m, err)
		}
		return io.ReadAll(zr)
	}
	for ext, tool := range map[string]string{".ko.xz": "xz", ".ko.zst": "zstd"} {
		if _, err := os.Stat(base + ext); err == nil {
			b, err := exec.Command(tool, "-dc", base+ext).Output()
			if err != nil {
				return nil, fmt.Errorf("module %s: decompressing with %s: %w", m, tool, err)
			}
			return b, nil
		}
	}
	if builtin, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil &&
		bytes.Contains(builtin, []byte("kernel/"+m+".ko\n")) {
		return nil, errBuiltin
	}
	return nil, fmt.Errorf("module %s.ko %w in %s", m, ErrMissing, dir)
}

// sizeFile creates path if needed and sets its length, keeping contents.
func sizeFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// QEMUArgs returns the emulator's arguments for booting initrd with the
// shared-memory file shm.
func QEMUArgs(c Config, initrd, shm string) []string {
	accel := []string{"-accel", "tcg"}
	if c.KVM {
		accel = []string{"-accel", "kvm", "-accel", "tcg"} // the first that works
	}
	args := append(accel,
		"-M", "q35,kernel-irqchip=split", "-cpu", "max", "-m", "512", "-smp", "2",
		"-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
		"-device", "intel-iommu,intremap=on,caching-mode=on",
		"-device", "edu",
		"-object", fmt.Sprintf("memory-backend-file,id=hostmem,size=%d,share=on,mem-path=%s", c.SharedMemSize, shm),
		"-device", "ivshmem-plain,memdev=hostmem",
		"-kernel", c.Kernel, "-initrd", initrd,
		"-append", strings.TrimSpace("console=ttyS0 intel_iommu=on quiet panic=-1 ipcu.seed="+c.Seed+" "+c.Append),
	)
	return args
}

// boot runs QEMU until it exits or the timeout kills it, and reads the
// result from the console.
func boot(ctx context.Context, c Config, initrd, shm, marker string) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.QEMU, QEMUArgs(c, initrd, shm)...)
	dieWithParent(cmd)
	var console bytes.Buffer
	var out io.Writer = &console
	if c.Console != nil {
		out = io.MultiWriter(&console, c.Console)
	}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 5 * time.Second // QEMU is killed by the context; do not wait on pipes forever
	start := time.Now()
	runErr := cmd.Run()
	res := &Result{Console: strings.ReplaceAll(console.String(), "\r", ""), ExitCode: -1, Boot: time.Since(start)}
	res.Output, res.ExitCode = parseConsole(res.Console, marker)
	switch {
	case ctx.Err() != nil:
		return res, &Error{Err: fmt.Errorf("the VM did not finish within %v: %w", c.Timeout, ctx.Err()), Result: res}
	case runErr != nil:
		return res, &Error{Err: fmt.Errorf("qemu: %w", runErr), Result: res}
	case res.ExitCode < 0:
		return res, &Error{Err: errors.New("the guest powered off without reporting the tests' exit status"), Result: res}
	case res.ExitCode != 0:
		return res, &Error{Err: fmt.Errorf("the guest tests failed (exit status %d)", res.ExitCode), Result: res}
	}
	return res, nil
}

// parseConsole returns the text between marker-BEGIN and marker-END and
// the exit status on the END line (-1 when absent).
func parseConsole(console, marker string) (string, int) {
	_, after, ok := strings.Cut(console, marker+"-BEGIN\n")
	if !ok {
		return "", -1
	}
	out, end, ok := strings.Cut(after, marker+"-END rc=")
	if !ok {
		return after, -1
	}
	line, _, _ := strings.Cut(end, "\n")
	rc, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return out, -1
	}
	return out, rc
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// repoRoot returns the nearest parent of the working directory with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
