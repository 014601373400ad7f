package ipcctl

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ipcu/ipcu/pci"
	"github.com/ipcu/ipcu/uio"
	"github.com/ipcu/ipcu/vfio"
)

// Doctor statuses.
const (
	statusOK   = "ok"
	statusInfo = "info"
	statusWarn = "warn"
	statusFail = "fail"
)

// finding is one item of doctor's report.
type finding struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

type jsonDoctor struct {
	header
	Result   string    `json:"result"`
	Findings []finding `json:"findings"`
}

const doctorHelp = `Checks what stands between this machine and a working device, and says how
to fix each item: the IOMMU (on, off, or VFIO's unsafe no-IOMMU mode), the
viability of the IOMMU groups of devices bound to vfio-pci, the locked-memory
limit (VFIO pins DMA memory), huge pages, the permissions of /dev/vfio and
/dev/uio*, and the kernel modules (vfio-pci, uio_pci_generic).
Exit status 1 when an item fails (a warning does not fail).`

func cmdDoctor(args []string, env *Env) error {
	f := newFlags(env, "doctor", "doctor [-json] [-root DIR]", doctorHelp)
	root := f.rootFlag()
	if _, err := f.parse(args, 0, 0); err != nil {
		return err
	}
	fs := doctor(*root)
	result := statusOK
	for _, x := range fs {
		if x.Status == statusFail {
			result = statusFail
		}
	}
	if f.json {
		if err := writeJSON(env.Stdout, jsonDoctor{header: newHeader("doctor"), Result: result, Findings: fs}); err != nil {
			return err
		}
	} else {
		t := newTable(env.Stdout, "CHECK", "STATUS", "DETAIL")
		for _, x := range fs {
			t.row(x.Check, strings.ToUpper(x.Status), x.Detail)
			if x.Fix != "" {
				t.row("", "", "fix: "+x.Fix)
			}
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if result == statusFail {
		return exitStatus(ExitFail)
	}
	return nil
}

// doctor runs every check against the tree under root.
func doctor(root string) []finding {
	sysRoot := rootPath(root, "/sys")
	var out []finding
	cmdline := readTrim(rootPath(root, "/proc/cmdline"))
	vendor := cpuVendor(rootPath(root, "/proc/cpuinfo"))

	// IOMMU.
	groups, _ := os.ReadDir(filepath.Join(sysRoot, "kernel/iommu_groups"))
	noiommu := readTrim(filepath.Join(sysRoot, "module/vfio/parameters/enable_unsafe_noiommu_mode"))
	iommuOpt := "intel_iommu=on"
	if vendor == "AuthenticAMD" {
		iommuOpt = "amd_iommu=on"
	}
	switch {
	case len(groups) > 0:
		out = append(out, finding{Check: "iommu", Status: statusOK, Detail: fmt.Sprintf("on: %d IOMMU groups", len(groups))})
	case noiommu == "Y":
		out = append(out, finding{Check: "iommu", Status: statusWarn,
			Detail: "off; VFIO's unsafe no-IOMMU mode is on: devices can DMA anywhere and vfio has no DMA memory",
			Fix:    "add " + iommuOpt + " iommu=pt to the kernel command line and reboot"})
	default:
		detail := "off: no IOMMU groups"
		for _, w := range strings.Fields(cmdline) {
			if w == "intel_iommu=off" || w == "amd_iommu=off" || w == "iommu=off" {
				detail += "; the kernel command line has " + w
			}
		}
		out = append(out, finding{Check: "iommu", Status: statusFail, Detail: detail,
			Fix: "enable VT-d/AMD-Vi in the firmware, add " + iommuOpt + " iommu=pt to the kernel command line and reboot; without it use uio_pci_generic (no DMA)"})
	}

	// Modules.
	for _, m := range []struct{ name, dir, what string }{
		{"vfio-pci", "vfio_pci", "VFIO devices"},
		{"uio_pci_generic", "uio_pci_generic", "UIO PCI devices"},
	} {
		_, errMod := os.Stat(filepath.Join(sysRoot, "module", m.dir))
		_, errDrv := os.Stat(filepath.Join(sysRoot, "bus/pci/drivers", m.name))
		if errMod == nil || errDrv == nil {
			out = append(out, finding{Check: "module " + m.name, Status: statusOK, Detail: "loaded"})
		} else {
			out = append(out, finding{Check: "module " + m.name, Status: statusWarn, Detail: "not loaded: needed for " + m.what,
				Fix: "modprobe " + m.name + " (and list it in /etc/modules-load.d/ipcu.conf)"})
		}
	}

	// Devices, their groups and nodes.
	bus := &pci.Bus{Root: sysRoot}
	devs, _ := bus.List()
	uios, _ := uio.List(&uio.Options{SysRoot: sysRoot, DevDir: rootPath(root, "/dev")})
	nvfio := 0
	seen := map[int]bool{}
	for _, d := range devs {
		if d.Driver != "vfio-pci" {
			continue
		}
		nvfio++
		if d.IOMMUGroup < 0 {
			out = append(out, finding{Check: "group of " + d.Address, Status: statusFail, Detail: "bound to vfio-pci without an IOMMU group",
				Fix: "turn the IOMMU on (see iommu)"})
			continue
		}
		if seen[d.IOMMUGroup] {
			continue
		}
		seen[d.IOMMUGroup] = true
		check := fmt.Sprintf("group %d", d.IOMMUGroup)
		members, err := vfio.GroupMembers(sysRoot, d.IOMMUGroup)
		if err == nil {
			err = vfio.CheckViable(d.IOMMUGroup, members)
		}
		if err != nil {
			var fixes []string
			for _, m := range members {
				if m.Driver != "" && m.Driver != "vfio-pci" && m.Driver != "pci-stub" {
					fixes = append(fixes, "ipcctl bind "+m.Address+" vfio-pci")
				}
			}
			out = append(out, finding{Check: check, Status: statusFail, Detail: "not viable: " + notViable(members),
				Fix: "bind every device in it to vfio-pci (" + strings.Join(fixes, "; ") + ") or unbind it"})
		} else {
			out = append(out, finding{Check: check, Status: statusOK, Detail: fmt.Sprintf("viable (%d devices)", len(members))})
		}
		out = append(out, nodeFinding(rootPath(root, "/dev/vfio/"+strconv.Itoa(d.IOMMUGroup)), "group "+strconv.Itoa(d.IOMMUGroup)+"'s node"))
	}
	if nvfio > 0 || len(groups) > 0 {
		out = append(out, nodeFinding(rootPath(root, "/dev/vfio/vfio"), "the VFIO container"))
	}
	for _, u := range uios {
		out = append(out, nodeFinding(u.Node, fmt.Sprintf("uio%d (%s)", u.Number, u.Name)))
	}
	if nvfio == 0 && len(uios) == 0 {
		out = append(out, finding{Check: "devices", Status: statusInfo, Detail: "no device bound to vfio-pci or UIO (only fake works)",
			Fix: "ipcctl list, then ipcctl bind ADDR vfio-pci (or uio_pci_generic)"})
	}

	// Locked memory.
	out = append(out, memlockFinding(root))

	// Huge pages.
	mi := meminfo(rootPath(root, "/proc/meminfo"))
	if total, ok := mi["HugePages_Total"]; ok {
		if total == 0 {
			out = append(out, finding{Check: "hugepages", Status: statusInfo, Detail: "none reserved (optional: large DMA buffers use them)",
				Fix: "echo 64 > /proc/sys/vm/nr_hugepages (or vm.nr_hugepages=64 in /etc/sysctl.d)"})
		} else {
			out = append(out, finding{Check: "hugepages", Status: statusOK,
				Detail: fmt.Sprintf("%d of %d free, %d KiB each", mi["HugePages_Free"], total, mi["Hugepagesize"])})
		}
	}
	return out
}

// nodeFinding checks that a device node exists and that this process may
// read and write it.
func nodeFinding(path, what string) finding {
	check := filepath.Base(path)
	if strings.Contains(path, "/vfio/") {
		check = "/dev/vfio/" + check
	} else {
		check = "/dev/" + check
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return finding{Check: check, Status: statusFail, Detail: what + ": missing",
			Fix: "load the driver (modprobe vfio-pci or uio_pci_generic) and check that udev or devtmpfs creates it"}
	case unix.Access(path, unix.R_OK|unix.W_OK) != nil:
		return finding{Check: check, Status: statusFail, Detail: fmt.Sprintf("%s: %v: not readable and writable by this user", what, st.Mode().Perm()),
			Fix: "run as root, or add a udev rule giving your group the node (e.g. SUBSYSTEM==\"vfio\", GROUP=\"ipcu\", MODE=\"0660\")"}
	}
	return finding{Check: check, Status: statusOK, Detail: what + ": read-write"}
}

// capIPCLock is CAP_IPC_LOCK's bit in /proc/PID/status CapEff
// (linux/capability.h), here so that the file builds on every GOOS.
const capIPCLock = 14

// memlockFinding checks RLIMIT_MEMLOCK, from /proc/self/limits, against
// what a few DMA rings need, unless the process has CAP_IPC_LOCK.
func memlockFinding(root string) finding {
	const want = 64 << 20
	f := finding{Check: "memlock"}
	capEff := procStatus(rootPath(root, "/proc/self/status"))["CapEff"]
	if c, err := strconv.ParseUint(capEff, 16, 64); err == nil && c&(1<<capIPCLock) != 0 {
		f.Status, f.Detail = statusOK, "CAP_IPC_LOCK: no limit on pinned DMA memory"
		return f
	}
	soft, ok := memlockLimit(rootPath(root, "/proc/self/limits"))
	switch {
	case !ok:
		f.Status, f.Detail = statusWarn, "unknown: /proc/self/limits has no locked-memory line"
	case soft == ^uint64(0):
		f.Status, f.Detail = statusOK, "unlimited"
	case soft < want:
		f.Status, f.Detail = statusWarn, fmt.Sprintf("%s: VFIO pins DMA memory and counts it against this limit", sizeString(soft))
		f.Fix = "ulimit -l unlimited (or LimitMEMLOCK=infinity in the service, or memlock in /etc/security/limits.conf), or run as root"
	default:
		f.Status, f.Detail = statusOK, sizeString(soft)
	}
	return f
}

// memlockLimit parses the soft "Max locked memory" of a limits file.
func memlockLimit(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Max locked memory")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) == 0 {
			return 0, false
		}
		if fs[0] == "unlimited" {
			return ^uint64(0), true
		}
		n, err := strconv.ParseUint(fs[0], 10, 64)
		return n, err == nil
	}
	return 0, false
}

// meminfo parses /proc/meminfo's numbers (kB values in kB).
func meminfo(path string) map[string]uint64 {
	m := map[string]uint64{}
	for k, v := range procStatus(path) {
		if n, err := strconv.ParseUint(strings.Fields(v + " x")[0], 10, 64); err == nil {
			m[k] = n
		}
	}
	return m
}

// procStatus parses "Key: value" lines.
func procStatus(path string) map[string]string {
	m := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

func cpuVendor(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "vendor_id" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}
