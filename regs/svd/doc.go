// Package svd parses CMSIS-SVD files, the XML register descriptions that
// SoC vendors publish, into a resolved Go model.
//
// The model (Device, Peripheral, Cluster, Register, Field,
// EnumeratedValues, EnumeratedValue) is what the code generator in
// tools/regsgen reads, and Device.Describe turns it into the runtime
// regs.Description that the register dumper uses. Access types, write
// effects and read actions use the types of package regs. Every element
// records the line of the SVD text it came from.
//
// # Supported SVD
//
// The parser reads the device level (name, vendor, series, version,
// description, width, addressUnitBits and the registerPropertiesGroup:
// size, access, resetValue, resetMask), peripherals (with groupName,
// headerStructName, baseAddress, addressBlock and interrupt), clusters,
// registers (with displayName, modifiedWriteValues, readAction,
// alternateRegister and alternateGroup; clusters with alternateCluster),
// fields and enumerated values. It ignores what a register map does not
// need: the cpu section, protection, writeConstraint, dimArrayIndex,
// prependToName/appendToName,
// disableCondition and vendorExtensions. Elements it does not know are
// skipped, so newer files parse.
//
// Numbers may be decimal ("42"), hexadecimal ("0x2A" or "0X2A") or binary
// ("#101010"), with an optional '+' and scale suffix (k, M, G, T: powers of
// 1024). Booleans are true, false, 1 or 0. Access, modifiedWriteValues and
// readAction are matched ignoring case, because vendor files write
// "read-writeonce" for read-writeOnce. Multi-line descriptions are kept
// with each line trimmed of the indentation the XML gave it.
//
// # Resolution
//
// Parse hands back a finished model: consumers never see derivedFrom,
// %s lists or missing properties.
//
// derivedFrom, on a peripheral, cluster, register, field or
// enumeratedValues, makes the element a copy of its base with what it
// states on top. Single elements it states (description, size, ...)
// replace the base's; the field position (bitOffset/bitWidth, lsb/msb,
// bitRange) and the dim group are taken whole from one side; repeated
// elements (interrupt, addressBlock, a field's enumeratedValues) come from
// the derived element if it states any; and the lists of registers,
// clusters, fields and enumerated values are merged by name, an element of
// the derived list replacing the base's of the same name. The base's dim
// is inherited only by a derived element whose name has a %s. A reference
// is a name or a dotted path ("PERIPH.REG", "PERIPH.CLUSTER.REG",
// "REG.FIELD.ENUMS"); it is looked up relative to each enclosing element of
// the one that derives, from the innermost out, and last from the device,
// where the first name is a peripheral's. An element named "X[%s]" or
// "X%s" also answers to "X", and an element never answers its own
// reference, so a container named like its base finds the base. A plain enumeratedValues name not found that
// way is searched for in every field of the enclosing register, then
// peripheral, then device. A reference to nothing, or one that leads back
// to the element itself or its ancestors, is an error.
//
// dim, dimIncrement and dimIndex make several elements of one. dimIndex
// may be a comma list ("A,B,C"), a decimal range ("0-3") or a letter range
// ("A-D"); without it the indices are 0 to dim-1. Its entry count must
// equal dim. What becomes of the element depends on its name:
//
//   - A register or cluster named "MB[%s]" is an array: it stays ONE
//     element, with Name "MB" and a Dim holding the count, the increment
//     and the index strings, because the generator emits a Go array for
//     it. AddressOffset is that of element 0.
//   - A register or cluster named "CH%s" (the %s anywhere else) is a list:
//     the parser expands it into dim elements named "CH0", "CH1",
//     ..., each with AddressOffset advanced by dimIncrement, %s in its
//     displayName and description replaced by the index, Index set to the
//     index and Dim nil.
//   - Peripherals and fields are always expanded, whichever the form:
//     "UART[%s]" and "UART%s" both give UART0, UART1, .... A field's
//     dimIncrement is in bits.
//
// RawName keeps the name as written ("MB[%s]", "CH%s") in every case.
// A dim without %s in the name, or %s without dim, is an error.
//
// size, access, resetValue and resetMask are inherited from device to
// peripheral to cluster (through nested clusters) to register. Where
// nothing states them, size is the device width or else 32, access
// read-write, resetValue 0 and resetMask all ones; a register's reset value
// and mask are truncated to its size. A field's access, modifiedWriteValues
// and readAction default to its register's.
//
// Field positions are read in all three SVD forms. msb must not be below
// lsb, a field must fit in its register, an element may state only one
// form, and bitWidth defaults to 1. Enumerated values must fit their
// field. A binary value with don't-care bits ("#1x0") is expanded into one
// EnumeratedValue per value it matches, all with the same name; more than 8
// don't-care bits are an error.
//
// # Errors and limits
//
// Any problem with the input is a *ParseError naming the element path
// ("device STM32WB55_CM4 / peripheral IPCC / register C1CR / field RXOIE")
// and the line. The parser does not panic on any input, and bounds what
// hostile input can make it build: XML nesting is capped at 64 elements,
// clusters at MaxClusterDepth, a dim at MaxDim (4096) elements, the model
// at MaxElements elements after expansion, and a Describe call at
// MaxDescribeElements registers and cluster elements. Text is bounded too:
// a description is cleaned once per element of the input and shared by the
// copies that dim lists and derivedFrom make of it, and the text that %s
// substitution builds is capped at MaxTextBytes, by Parse and by each
// Describe call; past a limit, the result is an error.
//
// # Tests
//
// Unit tests parse small inline SVD documents for each feature and each
// kind of error, checking the path and line of the errors. A test over the
// vendor files in ../shared/svd (RP2040, STM32WB55, nRF5340) parses and
// describes every peripheral and checks values looked up in those files
// by hand; it is skipped where the folder is absent, and fails then under
// IPCU_REQUIRE_ALL=1. FuzzParse feeds arbitrary input to Parse and
// Describe and checks that what parses is consistent; its seed corpus is
// in testdata/fuzz/FuzzParse.
package svd
