package hint

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b        string
		plain, swap int
	}{
		{"", "", 0, 0},
		{"image", "imagee", 1, 1},
		{"binance", "binanse", 1, 1},
		{"log_level", "log_levle", 2, 1},
		{"kucoin", "", 6, 6},
		{"ключ", "клюх", 1, 1},
	} {
		if got := Distance(tt.a, tt.b, false); got != tt.plain {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.plain)
		}
		if got := Distance(tt.a, tt.b, true); got != tt.swap {
			t.Errorf("Distance(%q, %q, swaps) = %d, want %d", tt.a, tt.b, got, tt.swap)
		}
	}
}
