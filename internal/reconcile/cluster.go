package reconcile

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
)

// On a cluster (engine: swarm) a bot runs on another host, which cannot see
// the instance folder nectar renders here. The bot gets its files by
// content instead: connector files and .password_verification as secrets
// (encrypted in the cluster's log, put in memory on the bot's node only),
// everything else as configs, each mounted at its own path, so the image's
// own scripts and controllers stay visible beside the fleet's. data/ and
// logs/ are volumes on the bot's node, which the bot is kept on.
//
// conf_client.yml is the exception: Hummingbot rewrites it at every start
// (filling in its defaults), and a mounted file cannot be written. It is
// mounted beside the instance, at clientConfigSeed, and the bot's command
// copies it into place before it starts Hummingbot.

// clientConfigSeed is where a cluster bot finds the conf_client.yml nectar
// made, to copy into conf/ before Hummingbot starts.
const clientConfigSeed = "/nectar/conf_client.yml"

// clusterVolumes are the bot's own folders, kept as volumes on its node.
var clusterVolumes = []string{render.DataDir, render.LogsDir}

// cluster reports whether the bots run on a cluster (engine: swarm).
func (r *Reconciler) cluster() bool { return r.opts.Engine == fleet.EngineSwarm }

// engineMatches refuses a fleet whose nectar.yaml names another engine than
// the one this nectar drives: its bots would be made in the wrong place.
func (r *Reconciler) engineMatches(fl *fleet.Fleet) error {
	if fl.Engine != r.opts.Engine {
		return hint.Wrap(fmt.Errorf("%s says engine: %s, but this nectar drives %s; nothing is changed", fleet.SettingsFile, fl.Engine, engineText(r.opts.Engine)),
			"restart nectar so it connects to the engine nectar.yaml names (for swarm, DOCKER_HOST pointing at a manager)")
	}
	if _, ok := r.opts.Runtime.(runtime.Updater); r.cluster() && !ok {
		return errors.New("engine: swarm needs a runtime that updates services in place; this one cannot")
	}
	return nil
}

func engineText(e string) string {
	if e == fleet.EngineSwarm {
		return "a Docker Swarm cluster"
	}
	return "a single Docker engine"
}

// clusterProblem says why a bot cannot run on a cluster, "" when it can.
func clusterProblem(b *fleet.Bot) string {
	if b.Launch != fleet.LaunchHbot {
		return b.File + ": launch: " + b.Launch + " cannot run on engine: swarm: the image's own command reads conf/conf_client.yml where a cluster cannot write it; use launch: hbot (Hummingbot 2.16 or later)"
	}
	return ""
}

// clusterSpec turns the single engine's container spec for b into the
// cluster's: no instance folders bound, data/ and logs/ as volumes named
// after the container, the command wrapped to put conf_client.yml in
// place, and the bot's node: when it names one.
func clusterSpec(s runtime.Spec, b *fleet.Bot) runtime.Spec {
	var mounts []runtime.Mount
	for _, m := range s.Mounts {
		if m.Target == gatewayCertsTarget {
			// A folder on each node, as it is on the single host.
			mounts = append(mounts, m)
		}
	}
	for _, d := range clusterVolumes {
		mounts = append(mounts, runtime.Mount{Source: s.Name + "-" + d, Target: hummingbotHome + "/" + d})
	}
	s.Mounts = mounts
	s.Cmd = []string{"/bin/bash", "-c", "cp " + clientConfigSeed + " " + hummingbotHome + "/" + render.ClientConfigFile + " && exec " + shellJoin(command(b))}
	s.Node = b.Node
	return s
}

// shellSafe matches an argument the shell reads as it is.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./=-]+$`)

// shellJoin writes args as one shell command, quoting what needs it. Config
// names are checked file names, so quoting is a second guard, not the
// only one.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if shellSafe.MatchString(a) {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// clusterFiles are a cluster bot's files, as its container reads them.
func clusterFiles(contents []render.Content) []runtime.File {
	out := make([]runtime.File, 0, len(contents))
	for _, c := range contents {
		target := hummingbotHome + "/" + c.Path
		if c.Path == render.ClientConfigFile {
			target = clientConfigSeed
		}
		out = append(out, runtime.File{Target: target, Digest: c.Digest, Data: c.Data, Secret: c.Encrypted})
	}
	return out
}

// nodeProblem says that a bot's node is down, "" when it is not. Its data
// is on that node, so nectar does not move it and does not try to start
// it; a person brings the node back or moves the bot on purpose.
func nodeProblem(b *fleet.Bot, c runtime.Container) string {
	if c.Task.NodeReady() {
		return ""
	}
	return fmt.Sprintf("node %s, which holds this bot's data/ and logs/, is %s (task %s); nectar does not move the bot. Bring the node back (docker node ls), or set node: in %s to move it, leaving its data behind",
		c.Task.Node, c.Task.NodeState, c.Task.State, b.File)
}
