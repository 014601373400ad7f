//go:build linux

package vfio

import "testing"

func skipOther(*testing.T) {}
