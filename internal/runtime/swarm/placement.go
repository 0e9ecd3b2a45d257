package swarm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/nectarhq/nectar/internal/runtime"
)

// A bot's data/ and logs/ are local volumes of the node it runs on, so a
// bot is always pinned to one node by host name (node.hostname==X) and
// stays there: Create pins it to the node it is given or to the one that
// holds the fewest of the fleet's bots, Update keeps the pin unless given
// another node, and nothing else ever changes it. A bot whose node is
// down is reported by List (runtime.Task.NodeState), never moved.

const hostnameConstraint = "node.hostname=="

// pin is the placement that keeps a service on the node of that host name.
func pin(host string) *swarm.Placement {
	return &swarm.Placement{Constraints: []string{hostnameConstraint + host}}
}

// pinnedNode is the host name a service is pinned to, "" when it has no
// node.hostname== constraint.
func pinnedNode(p *swarm.Placement) string {
	if p == nil {
		return ""
	}
	for _, c := range p.Constraints {
		key, value, ok := strings.Cut(c, "==")
		if ok && strings.TrimSpace(key) == "node.hostname" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// nodeInfo is what List and placement need of a node.
type nodeInfo struct {
	host   string
	state  string // ready, down, disconnected, unknown
	active bool   // availability active: Swarm places new tasks there
}

// nodes indexes the cluster's nodes by ID and by host name.
type nodes struct {
	byID   map[string]nodeInfo
	byHost map[string]nodeInfo
}

// readNodes lists the cluster's nodes in one call.
func (e *Engine) readNodes(ctx context.Context) (nodes, error) {
	list, err := e.cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nodes{}, wrap("list the Swarm's nodes", err)
	}
	out := nodes{byID: map[string]nodeInfo{}, byHost: map[string]nodeInfo{}}
	for _, n := range list {
		info := nodeInfo{
			host:   n.Description.Hostname,
			state:  string(n.Status.State),
			active: n.Spec.Availability == swarm.NodeAvailabilityActive,
		}
		out.byID[n.ID] = info
		// A host that left and joined again is listed twice, the old
		// entry down: the constraint matches either, so the best counts.
		if old, ok := out.byHost[info.host]; !ok || rank(info.state) < rank(old.state) {
			out.byHost[info.host] = info
		}
	}
	return out, nil
}

// rank orders node states from best to worst.
func rank(state string) int {
	switch swarm.NodeState(state) {
	case swarm.NodeStateReady:
		return 0
	case swarm.NodeStateDisconnected:
		return 1
	case swarm.NodeStateUnknown:
		return 2
	}
	return 3
}

// stateOf is the state of the node of that host name; a host the cluster
// does not know is unknown.
func (n nodes) stateOf(host string) string {
	if info, ok := n.byHost[host]; ok {
		return info.state
	}
	return string(swarm.NodeStateUnknown)
}

// taskView is the cluster's view of a service's latest task t (nil when
// it has none): the node it is placed on, or else the one the service is
// pinned to, with that node's state.
func taskView(s swarm.Service, t *swarm.Task, ns nodes) *runtime.Task {
	out := &runtime.Task{}
	if t != nil {
		out.State, out.Err = string(t.Status.State), t.Status.Err
		if info, ok := ns.byID[t.NodeID]; ok && t.NodeID != "" {
			out.Node, out.NodeState = info.host, info.state
			return out
		}
	}
	if out.Node = pinnedNode(s.Spec.TaskTemplate.Placement); out.Node != "" {
		out.NodeState = ns.stateOf(out.Node)
	}
	return out
}

// place chooses the node for a new bot of fleet: among the nodes that are
// ready and active, the one with the fewest of the fleet's services
// pinned to it, ties broken by host name, so bots spread and the choice
// is the same for the same cluster. The caller holds placeMu through the
// create, so that concurrent creates see each other.
func (e *Engine) place(ctx context.Context, fleet string) (string, error) {
	ns, err := e.readNodes(ctx)
	if err != nil {
		return "", err
	}
	label := runtime.LabelFleet
	if fleet != "" {
		label += "=" + fleet
	}
	svcs, err := e.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		return "", wrap("list services of fleet "+fleet+" to place a bot", err)
	}
	load := map[string]int{}
	for _, s := range svcs {
		if h := pinnedNode(s.Spec.TaskTemplate.Placement); h != "" {
			load[h]++
		}
	}
	var hosts []string
	for host, info := range ns.byHost {
		if info.state == string(swarm.NodeStateReady) && info.active {
			hosts = append(hosts, host)
		}
	}
	if len(hosts) == 0 {
		return "", errors.New("no node is ready and active to place the bot on: bring a node up or set its availability to active (docker node ls, docker node update --availability active)")
	}
	sort.Slice(hosts, func(i, j int) bool {
		if load[hosts[i]] != load[hosts[j]] {
			return load[hosts[i]] < load[hosts[j]]
		}
		return hosts[i] < hosts[j]
	})
	return hosts[0], nil
}

// keepPlacement is the placement an update gives a service: the node the
// spec names, or else the service's own placement. A service that is not
// pinned (made by an older nectar or by hand) is pinned to the node its
// latest task ran on, or, without one, placed as a new bot is.
func (e *Engine) keepPlacement(ctx context.Context, cur swarm.Service, node string) (*swarm.Placement, error) {
	if node != "" {
		return pin(node), nil
	}
	p := cur.Spec.TaskTemplate.Placement
	if pinnedNode(p) != "" {
		return p, nil
	}
	host, err := e.whereItRan(ctx, cur)
	if err != nil {
		return nil, err
	}
	if host == "" {
		e.placeMu.Lock()
		defer e.placeMu.Unlock()
		if host, err = e.place(ctx, cur.Spec.Labels[runtime.LabelFleet]); err != nil {
			return nil, fmt.Errorf("cannot pin service %s to a node: %w", cur.Spec.Name, err)
		}
	}
	// Whatever else the placement says stays.
	out := &swarm.Placement{}
	if p != nil {
		*out = *p
		out.Constraints = append([]string(nil), p.Constraints...)
	}
	out.Constraints = append(out.Constraints, hostnameConstraint+host)
	return out, nil
}

// whereItRan is the host name of the node the service's latest task was
// placed on, "" when it has none.
func (e *Engine) whereItRan(ctx context.Context, s swarm.Service) (string, error) {
	ts, err := e.tasks(ctx, s.ID)
	if err != nil {
		return "", err
	}
	t := latest(ts)
	if t == nil || t.NodeID == "" {
		return "", nil
	}
	ns, err := e.readNodes(ctx)
	if err != nil {
		return "", err
	}
	return ns.byID[t.NodeID].host, nil
}
