package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Swarm is the three-node cluster scripts/swarm-cluster.sh builds on this
// machine.
type Swarm struct {
	// Manager is the DOCKER_HOST of the manager's engine (node 1).
	Manager string
	// Nodes are the three engines, node 1 (the manager) first.
	Nodes []SwarmNode
}

// SwarmNode is one engine of the cluster.
type SwarmNode struct {
	// Num is the node's number in scripts/swarm-cluster.sh (1 is the
	// manager).
	Num int
	// Host is its DOCKER_HOST (a unix socket).
	Host string
	// Hostname is what Swarm calls the node (node.hostname).
	Hostname string
	// Addr is its address on the cluster's private bridge.
	Addr string
}

// Worker returns the i-th worker (0 or 1).
func (s *Swarm) Worker(i int) SwarmNode { return s.Nodes[1+i] }

// swarmScript is the script that builds and removes the cluster.
func swarmScript() string { return filepath.Join(Root(), "scripts", "swarm-cluster.sh") }

var swarmState struct {
	mu        sync.Mutex
	done      bool
	swarm     *Swarm
	err       error
	broughtUp bool // this binary built the cluster (rather than found it up)
}

// RequireSwarm returns the cluster, bringing it up once per test binary
// (or reusing one that is up, as `swarm-cluster.sh up` does). The cluster
// needs root and changes the machine's network set-up (namespaces, a
// bridge, an iptables rule), so its tests run only when
// NECTAR_REQUIRE_SWARM is set; then a cluster that does not come up is a
// failure. NECTAR_REQUIRE_DOCKER alone does not turn them on.
func RequireSwarm(t testing.TB) *Swarm {
	t.Helper()
	if os.Getenv("NECTAR_REQUIRE_SWARM") == "" {
		t.Skip("Swarm tests build a three-node cluster on this machine (root, network namespaces); set NECTAR_REQUIRE_SWARM=1 to run them")
	}
	swarmState.mu.Lock()
	defer swarmState.mu.Unlock()
	if !swarmState.done {
		swarmState.done = true
		swarmState.swarm, swarmState.broughtUp, swarmState.err = swarmUp()
	}
	if swarmState.err != nil {
		t.Fatalf("NECTAR_REQUIRE_SWARM is set but the cluster is not up: %v", swarmState.err)
	}
	return swarmState.swarm
}

func swarmUp() (*Swarm, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Whether it was up before, so that a cluster someone else brought up
	// (for a faster edit-test loop) is left as it was.
	wasUp := exec.CommandContext(ctx, swarmScript(), "env").Run() == nil
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, swarmScript(), "up")
	cmd.Dir = Root()
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, false, fmt.Errorf("scripts/swarm-cluster.sh up: %v\n%s", err, stderr.Bytes())
	}
	s, err := parseSwarmEnv(out)
	return s, !wasUp, err
}

// parseSwarmEnv reads what `swarm-cluster.sh env` prints.
func parseSwarmEnv(out []byte) (*Swarm, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
	}
	s := &Swarm{Manager: vars["NECTAR_SWARM_MANAGER"]}
	for i := 1; ; i++ {
		p := "NECTAR_SWARM_NODE" + strconv.Itoa(i)
		if vars[p] == "" {
			break
		}
		s.Nodes = append(s.Nodes, SwarmNode{Num: i, Host: vars[p], Hostname: vars[p+"_HOSTNAME"], Addr: vars[p+"_ADDR"]})
	}
	if s.Manager == "" || len(s.Nodes) != 3 {
		return nil, fmt.Errorf("swarm-cluster.sh printed no manager and three nodes:\n%s", out)
	}
	return s, nil
}

// StopSwarm removes the cluster when this test binary brought it up and
// NECTAR_SWARM_KEEP is not set; call it from TestMain after m.Run. A
// cluster that was already up is left to whoever started it.
func StopSwarm() error {
	swarmState.mu.Lock()
	defer swarmState.mu.Unlock()
	if !swarmState.broughtUp || os.Getenv("NECTAR_SWARM_KEEP") != "" {
		return nil
	}
	swarmState.broughtUp = false
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, swarmScript(), "down").CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/swarm-cluster.sh down: %v\n%s", err, out)
	}
	return nil
}

// StopNode stops a worker's engine, as a host that went away looks to the
// Swarm, and registers starting it again when the test ends (before the
// cleanups registered earlier, which may need the node). Its data stays.
func (s *Swarm) StopNode(t testing.TB, n SwarmNode) {
	t.Helper()
	t.Cleanup(func() {
		if err := swarmNodeCmd("start-node", n); err != nil {
			t.Error(err)
		}
	})
	if err := swarmNodeCmd("stop-node", n); err != nil {
		t.Fatal(err)
	}
}

// swarmNodeCmd runs `swarm-cluster.sh stop-node|start-node N`.
func swarmNodeCmd(verb string, n SwarmNode) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, swarmScript(), verb, strconv.Itoa(n.Num))
	cmd.Dir = Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/swarm-cluster.sh %s %d: %v\n%s", verb, n.Num, err, out)
	}
	return nil
}
