package hint

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestOf(t *testing.T) {
	base := errors.New("boom")
	err := fmt.Errorf("outer: %w", Wrap(fmt.Errorf("mid: %w", Wrap(base, "inner hint")), "outer hint"))
	if got := Of(err); !slices.Equal(got, []string{"outer hint", "inner hint"}) {
		t.Errorf("Of = %q", got)
	}
	if !errors.Is(err, base) {
		t.Error("chain broken")
	}
	if err.Error() != "outer: mid: boom" {
		t.Errorf("message %q", err.Error())
	}
	if Wrap(nil, "x") != nil {
		t.Error("Wrap(nil) != nil")
	}
	joined := errors.Join(New("a", "ha"), New("b", "hb"))
	if got := Of(joined); !slices.Equal(got, []string{"ha", "hb"}) {
		t.Errorf("Of(joined) = %q", got)
	}
}
