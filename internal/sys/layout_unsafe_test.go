package sys

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// A cField is a field of a kernel structure: its C name, its offset in the
// Go structure and the offset that <linux/vfio.h> gives it.
type cField struct {
	name      string
	got, want uintptr
}

// A cStruct is a kernel structure: its C name, its Go size and C size, and
// its fields. A flexible array member's Go offset is the size of the Go
// structure, which holds only the fixed part.
type cStruct struct {
	name      string
	got, want uintptr
	fields    []cField
}

// layouts is every ABI structure of the package. The wanted numbers come
// from a C program built with gcc against <linux/vfio.h> (sizeof and
// offsetof); TestLayoutGCC recomputes them where gcc is installed. They are
// the same on every Linux architecture, since each __u64 of these
// structures sits at a multiple of 8 and C aligns __u64 to 8 everywhere
// (i386 aside, which ipcu does not support).
var layouts = []cStruct{
	{"vfio_group_status", unsafe.Sizeof(GroupStatus{}), 8, []cField{
		{"argsz", unsafe.Offsetof(GroupStatus{}.Argsz), 0},
		{"flags", unsafe.Offsetof(GroupStatus{}.Flags), 4},
	}},
	{"vfio_device_info", unsafe.Sizeof(DeviceInfo{}), 20, []cField{
		{"argsz", unsafe.Offsetof(DeviceInfo{}.Argsz), 0},
		{"flags", unsafe.Offsetof(DeviceInfo{}.Flags), 4},
		{"num_regions", unsafe.Offsetof(DeviceInfo{}.NumRegions), 8},
		{"num_irqs", unsafe.Offsetof(DeviceInfo{}.NumIRQs), 12},
		{"cap_offset", unsafe.Offsetof(DeviceInfo{}.CapOffset), 16},
	}},
	{"vfio_region_info", unsafe.Sizeof(RegionInfo{}), 32, []cField{
		{"argsz", unsafe.Offsetof(RegionInfo{}.Argsz), 0},
		{"flags", unsafe.Offsetof(RegionInfo{}.Flags), 4},
		{"index", unsafe.Offsetof(RegionInfo{}.Index), 8},
		{"cap_offset", unsafe.Offsetof(RegionInfo{}.CapOffset), 12},
		{"size", unsafe.Offsetof(RegionInfo{}.Size), 16},
		{"offset", unsafe.Offsetof(RegionInfo{}.Offset), 24},
	}},
	{"vfio_info_cap_header", unsafe.Sizeof(InfoCapHeader{}), 8, []cField{
		{"id", unsafe.Offsetof(InfoCapHeader{}.ID), 0},
		{"version", unsafe.Offsetof(InfoCapHeader{}.Version), 2},
		{"next", unsafe.Offsetof(InfoCapHeader{}.Next), 4},
	}},
	{"vfio_region_sparse_mmap_area", unsafe.Sizeof(RegionSparseMmapArea{}), 16, []cField{
		{"offset", unsafe.Offsetof(RegionSparseMmapArea{}.Offset), 0},
		{"size", unsafe.Offsetof(RegionSparseMmapArea{}.Size), 8},
	}},
	{"vfio_region_info_cap_sparse_mmap", unsafe.Sizeof(RegionInfoCapSparseMmap{}), 16, []cField{
		{"header", unsafe.Offsetof(RegionInfoCapSparseMmap{}.Header), 0},
		{"nr_areas", unsafe.Offsetof(RegionInfoCapSparseMmap{}.NrAreas), 8},
		{"reserved", unsafe.Offsetof(RegionInfoCapSparseMmap{}.Reserved), 12},
		{"areas", unsafe.Sizeof(RegionInfoCapSparseMmap{}), 16},
	}},
	{"vfio_irq_info", unsafe.Sizeof(IRQInfo{}), 16, []cField{
		{"argsz", unsafe.Offsetof(IRQInfo{}.Argsz), 0},
		{"flags", unsafe.Offsetof(IRQInfo{}.Flags), 4},
		{"index", unsafe.Offsetof(IRQInfo{}.Index), 8},
		{"count", unsafe.Offsetof(IRQInfo{}.Count), 12},
	}},
	{"vfio_irq_set", unsafe.Sizeof(IRQSet{}), 20, []cField{
		{"argsz", unsafe.Offsetof(IRQSet{}.Argsz), 0},
		{"flags", unsafe.Offsetof(IRQSet{}.Flags), 4},
		{"index", unsafe.Offsetof(IRQSet{}.Index), 8},
		{"start", unsafe.Offsetof(IRQSet{}.Start), 12},
		{"count", unsafe.Offsetof(IRQSet{}.Count), 16},
		{"data", unsafe.Sizeof(IRQSet{}), 20},
	}},
	{"vfio_iommu_type1_info", unsafe.Sizeof(IOMMUType1Info{}), 24, []cField{
		{"argsz", unsafe.Offsetof(IOMMUType1Info{}.Argsz), 0},
		{"flags", unsafe.Offsetof(IOMMUType1Info{}.Flags), 4},
		{"iova_pgsizes", unsafe.Offsetof(IOMMUType1Info{}.IOVAPgsizes), 8},
		{"cap_offset", unsafe.Offsetof(IOMMUType1Info{}.CapOffset), 16},
	}},
	{"vfio_iova_range", unsafe.Sizeof(IOVARange{}), 16, []cField{
		{"start", unsafe.Offsetof(IOVARange{}.Start), 0},
		{"end", unsafe.Offsetof(IOVARange{}.End), 8},
	}},
	{"vfio_iommu_type1_info_cap_iova_range", unsafe.Sizeof(IOMMUType1InfoCapIOVARange{}), 16, []cField{
		{"header", unsafe.Offsetof(IOMMUType1InfoCapIOVARange{}.Header), 0},
		{"nr_iovas", unsafe.Offsetof(IOMMUType1InfoCapIOVARange{}.NrIOVAs), 8},
		{"reserved", unsafe.Offsetof(IOMMUType1InfoCapIOVARange{}.Reserved), 12},
		{"iova_ranges", unsafe.Sizeof(IOMMUType1InfoCapIOVARange{}), 16},
	}},
	{"vfio_iommu_type1_dma_map", unsafe.Sizeof(IOMMUType1DMAMap{}), 32, []cField{
		{"argsz", unsafe.Offsetof(IOMMUType1DMAMap{}.Argsz), 0},
		{"flags", unsafe.Offsetof(IOMMUType1DMAMap{}.Flags), 4},
		{"vaddr", unsafe.Offsetof(IOMMUType1DMAMap{}.Vaddr), 8},
		{"iova", unsafe.Offsetof(IOMMUType1DMAMap{}.IOVA), 16},
		{"size", unsafe.Offsetof(IOMMUType1DMAMap{}.Size), 24},
	}},
	{"vfio_iommu_type1_dma_unmap", unsafe.Sizeof(IOMMUType1DMAUnmap{}), 24, []cField{
		{"argsz", unsafe.Offsetof(IOMMUType1DMAUnmap{}.Argsz), 0},
		{"flags", unsafe.Offsetof(IOMMUType1DMAUnmap{}.Flags), 4},
		{"iova", unsafe.Offsetof(IOMMUType1DMAUnmap{}.IOVA), 8},
		{"size", unsafe.Offsetof(IOMMUType1DMAUnmap{}.Size), 16},
		{"data", unsafe.Sizeof(IOMMUType1DMAUnmap{}), 24},
	}},
}

func TestLayout(t *testing.T) {
	for _, s := range layouts {
		t.Run(s.name, func(t *testing.T) {
			assert.Equal(t, s.want, s.got, "sizeof(struct %s)", s.name)
			for _, f := range s.fields {
				assert.Equal(t, f.want, f.got, "offsetof(struct %s, %s)", s.name, f.name)
			}
		})
	}
}
