package render

import (
	"testing"

	"github.com/nectarhq/nectar/internal/hbcrypt"
)

// DeriveKeys derives each account's key once, the renders that follow
// derive nothing more, and on a fleet already rendered it derives nothing.
func TestDeriveKeys(t *testing.T) {
	f, names := benchFleet(6, 2)
	k := hbcrypt.NewKeyring()
	dir := t.TempDir()
	r, err := New(Options{Dir: dir, Keyring: k})
	if err != nil {
		t.Fatal(err)
	}
	r.DeriveKeys(f, names)
	if n := k.Derivations(); n != 2 {
		t.Fatalf("cold: %d derivations, want one per account (2)", n)
	}
	for _, bot := range names {
		if _, err := r.Render(f, bot, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := k.Derivations(); n != 2 {
		t.Fatalf("the renders derived %d more keys", n-2)
	}

	k2 := hbcrypt.NewKeyring()
	r2, err := New(Options{Dir: dir, Keyring: k2})
	if err != nil {
		t.Fatal(err)
	}
	r2.DeriveKeys(f, names)
	if n := k2.Derivations(); n != 0 {
		t.Fatalf("an up-to-date fleet: %d derivations, want 0", n)
	}
	// One account's password changes: only that account's key.
	f.Accounts["acct01"].Password = "a-new-password"
	r2.DeriveKeys(f, names)
	if n := k2.Derivations(); n != 1 {
		t.Fatalf("after one password change: %d derivations, want 1", n)
	}
}

// A keyed digest started from a copied label state equals one computed
// from scratch: the copies are only a shortcut.
func TestKeyedCopiesMatch(t *testing.T) {
	r, err := New(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.labels) != len(keyedLabels) {
		t.Fatalf("%d label states kept, want %d", len(r.labels), len(keyedLabels))
	}
	for _, l := range keyedLabels {
		copied := r.newKeyed(l).addString("a", "b").sum()
		fresh := (&Renderer{key: r.key}).newKeyed(l).addString("a", "b").sum()
		if copied != fresh {
			t.Errorf("%s: copied state gives %s, fresh %s", l, copied, fresh)
		}
		if again := r.newKeyed(l).addString("a", "b").sum(); again != copied {
			t.Errorf("%s: a copy was changed by its use", l)
		}
	}
}
