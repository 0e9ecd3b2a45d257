package source_test

import (
	"context"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/nectarhq/nectar/internal/source"
)

// A folder source: take a snapshot, read the fleet from it, and wait for
// the next change.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "fleet")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "nectar.yaml"), []byte("fleet: demo\n"), 0o644)

	src, err := source.Open(source.Spec{Source: dir})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := src.Changes(ctx)

	snap, err := src.Snapshot(ctx)
	if err != nil {
		log.Fatal(err)
	}
	data, _ := fs.ReadFile(snap.FS, "nectar.yaml")
	fmt.Printf("%s %s", snap.Revision, data)
	snap.Close()

	os.WriteFile(filepath.Join(dir, "nectar.yaml"), []byte("fleet: demo2\n"), 0o644)
	<-changes
	snap, _ = src.Snapshot(ctx)
	fmt.Println(snap.Revision)
	snap.Close()
	// Output:
	// sha256:6d764013270e fleet: demo
	// sha256:c5c4be5ff499
}
