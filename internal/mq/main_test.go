package mq

import (
	"testing"

	"github.com/ipcu/ipcu/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
