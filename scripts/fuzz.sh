#!/usr/bin/env bash
# Runs every fuzz target of the module for a bounded time on top of its
# committed corpus. Minimizing a new input is bounded too: left at Go's
# default (a minute) a large input stalls a 10-second run for its whole
# length. A finding prints the failing input itself, so a CI log alone is
# enough to reproduce it.
#
# Go's fuzzing coordinator can end a duration-bounded run with a bare
# "context deadline exceeded" when a worker is mid-call at the deadline
# (golang/go#75804), most often on a loaded machine. That is not a finding:
# a real one always prints "Failing input written to". So a run that fails
# with nothing but that message is replayed once on its corpus (which must
# pass) and counted as a flake; any other failure fails the script.
set -euo pipefail

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
MINIMIZETIME=${MINIMIZETIME:-3s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
flakes=0

for pkg in $($GO list ./...); do
  for target in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target"
    if $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$MINIMIZETIME" "$pkg" >"$log" 2>&1; then
      continue
    fi
    if grep -q 'context deadline exceeded' "$log" &&
      ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"; then
      echo "  coordinator deadline race, no finding; replaying the corpus"
      $GO test -count=1 -run "^${target}\$" "$pkg" >/dev/null
      flakes=$((flakes + 1))
      continue
    fi
    tail -n 60 "$log"
    # The failing input, as the fuzzer wrote it (under the package's
    # testdata/fuzz), for `go test -run=<target>/<name>` after copying it.
    dir=$($GO list -f '{{.Dir}}' "$pkg")
    for f in $(grep -o 'testdata/fuzz/[^ ]*' "$log" | sort -u); do
      echo "--- $f"
      head -c 4096 "$dir/$f"
      echo
    done
    exit 1
  done
done
echo "fuzz: all targets passed ($flakes deadline race(s) tolerated)"
