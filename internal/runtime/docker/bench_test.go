package docker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/nectarhq/nectar/internal/runtime"
)

// BenchmarkList lists a fleet of running containers, as the observe step
// of every reconcile pass does. The containers are tiny FROM-scratch
// sleepers; they are made once (b.Loop runs the body once) and removed at
// the end.
//
//	go test -run '^$' -bench List -benchtime 200x ./internal/runtime/docker/
func BenchmarkList(b *testing.B) {
	for _, n := range []int{100} {
		b.Run(fmt.Sprintf("running=%d", n), func(b *testing.B) {
			e := engine(b)
			fleet := newFleet(b)
			ctx := context.Background()

			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					spec := botSpec(fleet, fmt.Sprintf("bot%03d", i))
					spec.Network = "host" // as Hummingbot runs; starts twice as fast as a network namespace
					id, err := e.Create(ctx, spec)
					if err == nil {
						err = e.Start(ctx, id)
					}
					if err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}

			before := e.Calls()
			var list []runtime.Container
			for b.Loop() {
				var err error
				if list, err = e.List(ctx, fleet); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			calls := e.Calls().Sub(before)
			b.ReportMetric(float64(calls.Total())/float64(b.N), "calls/op")
			running := 0
			for _, c := range list {
				if c.Running() {
					running++
				}
			}
			if running != n {
				b.Fatalf("List found %d running containers, want %d", running, n)
			}
		})
	}
}
