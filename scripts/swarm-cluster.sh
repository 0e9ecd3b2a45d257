#!/usr/bin/env bash
# A three-node Docker Swarm on this one machine, for nectar's Swarm tests.
#
#   scripts/swarm-cluster.sh up     build it (or say it is already up), then print its env
#   scripts/swarm-cluster.sh env    print DOCKER_HOST of the manager and of each node
#   scripts/swarm-cluster.sh down   remove everything `up` made; safe to run any time
#   scripts/swarm-cluster.sh stop-node N    stop node N's engine (as a crashed host would
#                                           look to the Swarm); its namespace and data stay
#   scripts/swarm-cluster.sh start-node N   start it again and wait until the Swarm has it ready
#
# Each node is a dockerd of its own, started in its own network namespace
# (and UTS namespace, so each has its own host name: nectar-node1..3) with
# its own data root, exec root, pidfile and unix socket under one work
# folder, $NECTAR_SWARM_DIR (default /tmp/nectar-swarm). The namespaces are
# joined by veth pairs to a private Linux bridge without an address on the
# host, on 10.231.0.0/24: nothing of it is routed anywhere, so no traffic
# leaves the machine. node1 initialises the Swarm and manages it, node2 and
# node3 join as workers. The images in $NECTAR_SWARM_IMAGES (default
# nectar-testbot:dev, built with scripts/build-testbot.sh when the host
# lacks it) are copied from the host's engine into each node.
#
# The host's own engine is only read from (docker save); its containers,
# images, networks and configuration are never touched. The one change to
# the host beyond the work folder, the namespaces, the veths and the bridge
# is an iptables rule that lets traffic cross the bridge (the host engine's
# FORWARD policy drops bridged traffic otherwise); `down` removes it.
#
# Needs root. Waits are bounded by $NECTAR_SWARM_WAIT seconds (default 60)
# each, and a wait that runs out says what it waited for and shows the end
# of the node's log.
set -euo pipefail

DIR=${NECTAR_SWARM_DIR:-/tmp/nectar-swarm}
WAIT=${NECTAR_SWARM_WAIT:-60}
IMAGES=${NECTAR_SWARM_IMAGES:-nectar-testbot:dev}
BRIDGE=nectar-swbr
NET=10.231.0
NODES=(1 2 3)
MANAGER=1
TAG="nectar-swarm-cluster"
ROOT=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "swarm-cluster: $*" >&2; exit 1; }
say() { echo "swarm-cluster: $*" >&2; }

ns_name() { echo "nectar-swarm$1"; }
veth_name() { echo "nswarm$1"; }
node_dir() { echo "$DIR/node$1"; }
node_addr() { echo "$NET.1$1"; }
node_host() { echo "nectar-node$1"; }
node_sock() { echo "unix://$(node_dir "$1")/docker.sock"; }
dk() { local n=$1; shift; docker -H "$(node_sock "$n")" "$@"; }

need_root() { [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, veths, a bridge, iptables and dockerd)"; }

# Installs what is missing the way .ci/run does: Debian packages, quietly.
need_tools() {
	local need=()
	command -v ip >/dev/null || need+=(iproute2)
	command -v iptables >/dev/null || need+=(iptables)
	command -v dockerd >/dev/null || need+=(docker.io)
	command -v nsenter >/dev/null && command -v unshare >/dev/null || need+=(util-linux)
	if [ ${#need[@]} -gt 0 ]; then
		command -v apt-get >/dev/null || die "missing ${need[*]} and no apt-get to install them"
		say "installing ${need[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq "${need[@]}" >/dev/null
	fi
	docker info >/dev/null 2>&1 || die "the host's Docker engine does not answer; the images are copied from it"
}

# The iptables chain the accept rule goes into: DOCKER-USER, which the host
# engine jumps to first from FORWARD, or FORWARD itself without one.
rule_chain() {
	if iptables -S DOCKER-USER >/dev/null 2>&1; then echo DOCKER-USER; else echo FORWARD; fi
}
rule() { echo -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$TAG" -j ACCEPT; }

# node_pid prints the pid of the node's dockerd when it is running and is
# ours (its command line names our data root), nothing otherwise.
node_pid() {
	local pidfile pid
	pidfile="$(node_dir "$1")/docker.pid"
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile" 2>/dev/null || true)
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
	if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--data-root $(node_dir "$1")/data"; then
		echo "$pid"
	fi
}

wait_for() { # what, seconds, command...
	local what=$1 secs=$2
	shift 2
	local end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.5
	done
	say "$what: ok"
}

is_up() {
	local n
	for n in "${NODES[@]}"; do
		[ -n "$(node_pid "$n")" ] || return 1
		dk "$n" info >/dev/null 2>&1 || return 1
	done
	[ "$(dk "$MANAGER" node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$')" -eq ${#NODES[@]} ]
}

print_env() {
	local n
	echo "NECTAR_SWARM_MANAGER=$(node_sock "$MANAGER")"
	for n in "${NODES[@]}"; do
		echo "NECTAR_SWARM_NODE$n=$(node_sock "$n")"
		echo "NECTAR_SWARM_NODE${n}_HOSTNAME=$(node_host "$n")"
		echo "NECTAR_SWARM_NODE${n}_ADDR=$(node_addr "$n")"
	done
}

start_node() {
	local n=$1 d ns
	d=$(node_dir "$n")
	ns=$(ns_name "$n")
	mkdir -p "$d"
	ip netns add "$ns"
	ip link add "$(veth_name "$n")" type veth peer name eth0 netns "$ns"
	ip link set "$(veth_name "$n")" master "$BRIDGE" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$(node_addr "$n")/24" dev eth0
	ip -n "$ns" link set eth0 up
	run_dockerd "$n"
}

# run_dockerd starts node n's engine in the node's namespace, in the
# background.
run_dockerd() {
	local n=$1 d ns
	d=$(node_dir "$n")
	ns=$(ns_name "$n")
	# nsenter, not `ip netns exec`: the latter remounts /sys for the
	# namespace, which hides the cgroup mounts, and dockerd then refuses to
	# start. unshare --uts gives the node a host name of its own, which is
	# what Swarm calls it (node.hostname). The node never pulls: its images
	# are loaded, and it has no route to a registry anyway.
	# setsid and the redirections detach the engine from whoever ran up
	# (a test's exec waits for its output pipes to close).
	setsid nsenter --net="/run/netns/$ns" unshare --uts \
		sh -c 'hostname "$1"; shift; exec "$@"' sh "$(node_host "$n")" \
		env DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 dockerd \
		--config-file "$DIR/daemon.json" \
		--data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
		--host "$(node_sock "$n")" \
		--bridge none --iptables=false --ip-forward=false --ip-masq=false \
		--shutdown-timeout 5 \
		</dev/null >"$d/dockerd.log" 2>&1 &
}

up() {
	need_root
	need_tools
	if is_up; then
		say "already up ($DIR)"
		print_env
		return
	fi
	# Whatever is left of an earlier, broken cluster goes first.
	down quiet
	local start=$SECONDS n
	mkdir -p "$DIR"
	echo '{}' >"$DIR/daemon.json" # so /etc/docker/daemon.json, meant for the host's engine, is not read

	ip link add "$BRIDGE" type bridge
	ip link set "$BRIDGE" up
	# shellcheck disable=SC2046
	iptables -I "$(rule_chain)" 1 $(rule)

	for n in "${NODES[@]}"; do start_node "$n"; done
	for n in "${NODES[@]}"; do
		if ! wait_for "node$n engine" "$WAIT" dk "$n" info; then
			tail -n 30 "$(node_dir "$n")/dockerd.log" >&2 || true
			die "node$n's dockerd did not answer on $(node_sock "$n") within ${WAIT}s (log: $(node_dir "$n")/dockerd.log)"
		fi
	done

	dk "$MANAGER" swarm init --advertise-addr "$(node_addr "$MANAGER")" --listen-addr "$(node_addr "$MANAGER"):2377" >/dev/null ||
		die "swarm init on node$MANAGER failed (log: $(node_dir "$MANAGER")/dockerd.log)"
	local token
	token=$(dk "$MANAGER" swarm join-token -q worker)
	for n in "${NODES[@]}"; do
		[ "$n" = "$MANAGER" ] && continue
		timeout "$WAIT" docker -H "$(node_sock "$n")" swarm join --token "$token" \
			--advertise-addr "$(node_addr "$n")" --listen-addr "$(node_addr "$n"):2377" "$(node_addr "$MANAGER"):2377" >/dev/null ||
			die "node$n could not join the Swarm at $(node_addr "$MANAGER"):2377 within ${WAIT}s (is traffic across $BRIDGE dropped? iptables -S $(rule_chain))"
	done
	ready() { [ "$(dk "$MANAGER" node ls --format '{{.Status}}' | grep -c '^Ready$')" -eq ${#NODES[@]} ]; }
	wait_for "${#NODES[@]} nodes ready" "$WAIT" ready ||
		die "the Swarm did not have ${#NODES[@]} ready nodes within ${WAIT}s: $(dk "$MANAGER" node ls 2>&1)"
	for n in "${NODES[@]}"; do
		dk "$MANAGER" node update --label-add "nectar.node=node$n" "$(node_host "$n")" >/dev/null
	done

	local img
	for img in $IMAGES; do
		if ! docker image inspect "$img" >/dev/null 2>&1; then
			[ "$img" = nectar-testbot:dev ] || die "the host's engine has no image $img to copy"
			say "building $img"
			"$ROOT/scripts/build-testbot.sh" "$img"
		fi
		docker save -o "$DIR/image.tar" "$img"
		local loads=()
		for n in "${NODES[@]}"; do
			dk "$n" load -q -i "$DIR/image.tar" >/dev/null &
			loads+=($!)
		done
		wait "${loads[@]}" || true
		rm -f "$DIR/image.tar"
		for n in "${NODES[@]}"; do
			dk "$n" image inspect "$img" >/dev/null 2>&1 || die "loading $img into node$n failed"
		done
		say "$img loaded into every node"
	done
	say "up in $((SECONDS - start))s ($DIR)"
	print_env
}

# node_number checks that $1 names a node and prints it.
node_number() {
	local n
	for n in "${NODES[@]}"; do
		[ "$n" = "${1:-}" ] && { echo "$n"; return; }
	done
	die "no node '${1:-}': give a node number, one of ${NODES[*]}"
}

# stop_node stops one node's engine, and with it its containerd, the way a
# host that goes away looks to the Swarm. The manager cannot be stopped:
# the cluster would have no one to ask.
stop_node() {
	need_root
	local n pid
	n=$(node_number "${1:-}")
	[ "$n" != "$MANAGER" ] || die "node$n is the manager; stop a worker"
	pid=$(node_pid "$n")
	if [ -z "$pid" ]; then
		say "node$n's engine is not running"
		return
	fi
	kill -TERM "$pid"
	local end=$((SECONDS + 30))
	while [ -n "$(node_pid "$n")" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
	if [ -n "$(node_pid "$n")" ]; then
		say "node$n's dockerd (pid $pid) did not stop within 30s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# What the engine started and left (its containerd, shims) ends too,
	# by pid, so the next start finds its exec root free.
	local pids
	pids=$(ip netns pids "$(ns_name "$n")" 2>/dev/null || true)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
	say "node$n stopped"
}

# start_stopped_node starts a node that stop_node stopped and waits until
# its engine answers and the manager lists it ready.
start_stopped_node() {
	need_root
	local n
	n=$(node_number "${1:-}")
	[ -e "/run/netns/$(ns_name "$n")" ] || die "node$n has no namespace: is the cluster up? (scripts/swarm-cluster.sh up)"
	if [ -z "$(node_pid "$n")" ]; then
		run_dockerd "$n"
	fi
	if ! wait_for "node$n engine" "$WAIT" dk "$n" info; then
		tail -n 30 "$(node_dir "$n")/dockerd.log" >&2 || true
		die "node$n's dockerd did not answer on $(node_sock "$n") within ${WAIT}s (log: $(node_dir "$n")/dockerd.log)"
	fi
	node_ready() { [ "$(dk "$MANAGER" node inspect --format '{{.Status.State}}' "$(node_host "$n")" 2>/dev/null)" = ready ]; }
	wait_for "node$n ready in the Swarm" "$WAIT" node_ready ||
		die "the manager did not see node$n ready within ${WAIT}s: $(dk "$MANAGER" node ls 2>&1)"
}

down() {
	local quiet=${1:-}
	need_root
	local n pid
	# Bots are killed, not stopped: a stand-in that ignores SIGTERM would
	# hold each engine's shutdown for its whole stop timeout.
	if [ -n "$(node_pid "$MANAGER")" ]; then
		dk "$MANAGER" service ls -q 2>/dev/null | xargs -r docker -H "$(node_sock "$MANAGER")" service rm >/dev/null 2>&1 || true
	fi
	for n in "${NODES[@]}"; do
		[ -n "$(node_pid "$n")" ] || continue
		dk "$n" ps -aq 2>/dev/null | xargs -r docker -H "$(node_sock "$n")" rm -f >/dev/null 2>&1 || true
	done
	for n in "${NODES[@]}"; do
		pid=$(node_pid "$n")
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
	done
	for n in "${NODES[@]}"; do
		local end=$((SECONDS + 30))
		while [ -n "$(node_pid "$n")" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
		pid=$(node_pid "$n")
		if [ -n "$pid" ]; then
			say "node$n's dockerd (pid $pid) did not stop within 30s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	# What is left in a node's namespace (its containerd, shims) was
	# started by its dockerd: end it by pid.
	for n in "${NODES[@]}"; do
		local ns pids
		ns=$(ns_name "$n")
		[ -e "/run/netns/$ns" ] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		if [ -n "$pids" ]; then
			# shellcheck disable=SC2086
			kill -TERM $pids 2>/dev/null || true
			sleep 1
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			# shellcheck disable=SC2086
			[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
		fi
	done
	# Mounts the engines left under the work folder (overlay layers, the
	# namespaces of their sandboxes), deepest first.
	if [ -d "$DIR" ]; then
		awk -v d="$DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
		if awk -v d="$DIR/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
			die "mounts remain under $DIR; not removing it: $(awk -v d="$DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | head -5)"
		fi
	fi
	for n in "${NODES[@]}"; do
		ip link del "$(veth_name "$n")" 2>/dev/null || true
		[ -e "/run/netns/$(ns_name "$n")" ] && ip netns del "$(ns_name "$n")" 2>/dev/null || true
	done
	ip link del "$BRIDGE" 2>/dev/null || true
	local chain
	for chain in DOCKER-USER FORWARD; do
		# shellcheck disable=SC2046
		while iptables -C "$chain" $(rule) 2>/dev/null; do iptables -D "$chain" $(rule); done
	done
	rm -rf --one-file-system "$DIR"
	[ -n "$quiet" ] || say "down"
}

case "${1:-}" in
up) up ;;
down) down ;;
env)
	is_up || die "no cluster is up under $DIR (scripts/swarm-cluster.sh up)"
	print_env
	;;
stop-node) stop_node "${2:-}" ;;
start-node) start_stopped_node "${2:-}" ;;
*)
	echo "usage: $0 up|down|env|stop-node N|start-node N" >&2
	exit 2
	;;
esac
