package goident

import "testing"

func TestOf(t *testing.T) {
	for in, want := range map[string]string{
		"CTRL":    "CTRL",
		"ctrl":    "Ctrl",
		"0BIT":    "X0BIT",
		"_RES":    "X_RES",
		"EN.0":    "EN_0",
		"":        "X",
		"TX-DATA": "TX_DATA",
		"ÄPFEL":   "_PFEL",
		"IPC_S":   "IPC_S",
		"FIFO_ST": "FIFO_ST",
	} {
		if got := Of(in); got != want {
			t.Errorf("Of(%q) = %q, want %q", in, got, want)
		}
	}
}
