#!/bin/sh
# Builds the nectar test bot image (default tag nectar-testbot:dev): the one
# place that knows its build context, shared by `make testbot-image` and
# internal/testenv. Usage: scripts/build-testbot.sh [TAG]; $GO picks the Go
# command (default go).
set -eu
tag=${1:-nectar-testbot:dev}
GO=${GO:-go}
root=$(cd "$(dirname "$0")/.." && pwd)
ctx=$(mktemp -d "${TMPDIR:-/tmp}/nectar-testbot.XXXXXX")
trap 'rm -rf "$ctx"' EXIT INT TERM

cd "$root"
CGO_ENABLED=0 "$GO" build -trimpath -o "$ctx/nectar-testbot" ./cmd/nectar-testbot
cp cmd/nectar-testbot/Dockerfile "$ctx/Dockerfile"
cp -R cmd/nectar-testbot/image "$ctx/image"
# Git keeps no empty folders, and the official image has these empty ones.
hb="$ctx/image/home/hummingbot"
for d in conf/connectors conf/strategies conf/controllers conf/scripts data logs certs; do
	mkdir -p "$hb/$d"
done
# Upstream ships its scripts twice; the copy survives a mount over scripts/.
cp -R "$hb/scripts" "$hb/scripts-copy"
docker build -q -t "$tag" "$ctx" >/dev/null
