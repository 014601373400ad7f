//go:build amd64 || arm64

package spin

// Pause is the CPU's spin-wait hint: PAUSE on amd64, YIELD on arm64, a
// call that does nothing elsewhere. Call it once per iteration of a loop
// that polls memory another core writes. It does not yield to the Go
// scheduler: see Spinner for that.
func Pause()
