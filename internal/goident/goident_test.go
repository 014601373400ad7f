package goident

import (
	"go/token"
	"testing"
)

func TestOf(t *testing.T) {
	for in, want := range map[string]string{
		"CTRL":    "CTRL",
		"ctrl":    "Ctrl",
		"0BIT":    "X0BIT",
		"_RES":    "X_RES",
		"EN.0":    "EN_0",
		"":        "X",
		"TX-DATA": "TX_DATA",
		"ÄPFEL":   "X_PFEL",
		"-":       "X_",
		"%x":      "X_x",
		"äpfel":   "X_pfel",
		"IPC_S":   "IPC_S",
		"FIFO_ST": "FIFO_ST",
	} {
		got := Of(in)
		if got != want {
			t.Errorf("Of(%q) = %q, want %q", in, got, want)
		}
		if !token.IsIdentifier(got) || !token.IsExported(got) {
			t.Errorf("Of(%q) = %q, not an exported identifier", in, got)
		}
	}
}
