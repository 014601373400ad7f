//go:build !linux

package vfio

import "testing"

func skipOther(t *testing.T) { t.Skip("Open is a stub off Linux") }
