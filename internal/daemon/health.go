package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/nectarhq/nectar/internal/botstatus"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/runtime"
)

// Health configures how often the daemon asks each bot for its own status.
type Health struct {
	// Every is the period between rounds; 0 turns health checks off.
	Every time.Duration
	// Wait bounds how long a bot has to answer (botstatus.DefaultWait).
	Wait time.Duration
	// InstanceDir returns a bot's instance folder, where its snapshot is.
	InstanceDir func(bot string) string
	// OnHealth receives each round's results, by bot.
	OnHealth func(map[string]botstatus.Health)
	// Owner, when set, is this state dir's identity: a container labelled
	// with another owner is another nectar's and is never signalled.
	Owner string
}

// healthParallel bounds the bots asked at once; each answer is a file
// write on the bot's side and a few reads on nectar's.
const healthParallel = 8

// followHealth asks every running bot of the fleet launched by hbot for a
// fresh snapshot, every cfg.Every. Only hbot bots are asked: their main
// process is Hummingbot's engine, which writes a snapshot on SIGUSR1 and
// ignores the signal until its handler is in place (the kernel drops a
// signal without a handler to a namespace's first process). A classic
// bot's main process is a shell, and its engine writes no snapshot.
func followHealth(ctx context.Context, rt runtime.Runtime, cfg Health, fleetName func() string) {
	if cfg.Every <= 0 || cfg.OnHealth == nil || cfg.InstanceDir == nil {
		return
	}
	wait := cfg.Wait
	if wait <= 0 {
		wait = botstatus.DefaultWait
	}
	tick := time.NewTicker(cfg.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		name := fleetName()
		if name == "" {
			continue
		}
		cs, err := rt.List(ctx, name)
		if err != nil {
			continue // the pass reports an engine that is away
		}
		out := map[string]botstatus.Health{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, healthParallel)
		for _, c := range cs {
			if c.State != runtime.StateRunning || c.Labels[runtime.LabelLaunch] != fleet.LaunchHbot || c.Bot() == "" {
				continue
			}
			if o := c.Labels[runtime.LabelOwner]; cfg.Owner != "" && o != "" && o != cfg.Owner {
				continue
			}
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				ask := func(ctx context.Context) error { return rt.Signal(ctx, c.ID, "USR1") }
				h := botstatus.Probe(ctx, cfg.InstanceDir(c.Bot()), ask, wait, time.Now)
				mu.Lock()
				out[c.Bot()] = h
				mu.Unlock()
			})
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		cfg.OnHealth(out)
	}
}
