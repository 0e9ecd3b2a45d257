package swarm

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/nectarhq/nectar/internal/runtime"
)

// taskPoll is how often Events reads the fleet's tasks.
const taskPoll = 2 * time.Second

// Events streams changes to the fleet's services. A manager reports
// service events (create, update, remove) and node events (a node going
// down or up), but nothing when a task's container dies on its node: the
// engine of that node alone sees that. So the fleet's tasks are also read
// every two seconds, and each change of a service's state or status is
// reported as an event with the action "task". Node events concern every
// bot and carry no bot.
func (e *Engine) Events(ctx context.Context, fleet string) (<-chan runtime.Event, <-chan error) {
	out := make(chan runtime.Event, 64)
	errc := make(chan error, 1)
	if fleet == "" {
		errc <- errors.New("cannot watch events: empty fleet name")
		close(out)
		return out, errc
	}
	sub, cancel := context.WithCancel(ctx)
	msgs, errs := e.cli.Events(sub, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ServiceEventType)),
		filters.Arg("type", string(events.NodeEventType)),
	)})
	// The first reading, before returning, so that a change made after
	// this call is a difference from it.
	seen := map[string]string{}
	bots := map[string]string{}
	if list, err := e.List(ctx, fleet); err == nil {
		for _, c := range list {
			seen[c.ID], bots[c.ID] = c.State+"\x00"+c.Status, c.Bot()
		}
	}
	go func() {
		defer cancel()
		defer close(out)
		send := func(ev runtime.Event) bool {
			select {
			case out <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		tick := time.NewTicker(taskPoll)
		defer tick.Stop()
		for {
			select {
			case m := <-msgs:
				ev := runtime.Event{ContainerID: m.Actor.ID, Action: strings.SplitN(string(m.Action), ":", 2)[0], Time: eventTime(m)}
				if m.Type == events.ServiceEventType {
					bot, ours := bots[m.Actor.ID]
					// A service this fleet does not know yet may be one it
					// just created; the next reading tells.
					if !ours && !strings.HasPrefix(m.Actor.Attributes["name"], "hummingbot-") {
						continue
					}
					ev.Bot = bot
				}
				if !send(ev) {
					return
				}
			case err := <-errs:
				if ctx.Err() == nil {
					if err == nil || err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					errc <- wrap("Swarm event stream of fleet "+fleet+" broke", err)
				}
				return
			case <-tick.C:
				list, err := e.List(ctx, fleet)
				if err != nil {
					continue // a manager that went away breaks the stream too
				}
				now := map[string]string{}
				for _, c := range list {
					now[c.ID], bots[c.ID] = c.State+"\x00"+c.Status, c.Bot()
					if seen[c.ID] != now[c.ID] && !send(runtime.Event{ContainerID: c.ID, Bot: c.Bot(), Action: "task", Time: time.Now()}) {
						return
					}
				}
				for id := range seen {
					if _, ok := now[id]; !ok && !send(runtime.Event{ContainerID: id, Bot: bots[id], Action: "task", Time: time.Now()}) {
						return
					}
				}
				seen = now
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errc
}

func eventTime(m events.Message) time.Time {
	if m.TimeNano != 0 {
		return time.Unix(0, m.TimeNano)
	}
	return time.Unix(m.Time, 0)
}
