# nectar — GitOps for Hummingbot fleets.
#   make demo   build nectar and the test bot image, then run the daemon on the example fleet
#   make test   lint, then every test (Docker tests need a running engine)

GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS  := -X main.version=$(VERSION)
EXAMPLE  := examples/quickstart
# The example fleet ships a demo-only identity; never use it for real keys.
DEMO_KEY := examples/demo-identity.key

.PHONY: all build test unit lint swarm faults fuzz bench bench-all demo demo-clean clean testbot-image

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/nectar ./cmd/nectar

test: lint unit swarm faults fuzz

# internal/reconcile runs real containers and PBKDF2 under the race
# detector: 530-550 s on a quiet two-core machine, over Go's default 10 m
# test timeout when the machine is shared and busy.
unit:
	$(GO) test -race -count=1 -timeout 25m ./...

lint:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The Swarm tests, on a three-node cluster built on this machine
# (scripts/swarm-cluster.sh: root, network namespaces). One package at a
# time, as they share the cluster; it is removed afterwards, pass or fail.
swarm: testbot-image
	scripts/swarm-cluster.sh up >/dev/null
	NECTAR_REQUIRE_SWARM=1 NECTAR_SWARM_KEEP=1 $(GO) test -p 1 -count=1 ./internal/runtime/swarm && \
	  NECTAR_REQUIRE_SWARM=1 NECTAR_SWARM_KEEP=1 $(GO) test -count=1 -run Swarm ./internal/reconcile; \
	  rc=$$?; scripts/swarm-cluster.sh down >/dev/null; exit $$rc

# Faults that disturb the whole machine (restarting the Docker engine) run
# here, alone, after every other test is done.
faults:
	NECTAR_FAULTS=1 $(GO) test -count=1 -run 'TestDockerdRestart' ./internal/faults

# Each fuzz target runs briefly on top of its committed corpus.
FUZZTIME ?= 10s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# One table of the figures that matter (bench/LATEST.md); bench-all runs
# every Go benchmark of the module briefly.
bench: testbot-image
	$(GO) run ./cmd/nectar-bench

bench-all:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# The demo keeps its state (rendered bot folders) under bin/demo-state. It
# validates and plans the example, then runs the daemon in the foreground:
# edit examples/quickstart and watch it act; Ctrl-C stops nectar and leaves
# the bots running (make demo-clean removes them).
DEMO_STATE := $(BIN)/demo-state
demo: build testbot-image
	NECTAR_AGE_KEY_FILE=$(DEMO_KEY) $(BIN)/nectar --source $(EXAMPLE) validate
	NECTAR_AGE_KEY_FILE=$(DEMO_KEY) $(BIN)/nectar --source $(EXAMPLE) --state-dir $(DEMO_STATE) plan
	NECTAR_AGE_KEY_FILE=$(DEMO_KEY) $(BIN)/nectar --source $(EXAMPLE) --state-dir $(DEMO_STATE) run

# Quiet when there is nothing to remove; a Docker that does not answer is
# still an error.
demo-clean:
	@ids=$$(docker ps -aq --filter label=nectar.fleet=quickstart) || exit 1; \
	if [ -n "$$ids" ]; then docker rm -f $$ids; fi

# The stand-in for Hummingbot used by tests and the demo: a static binary in
# an image built FROM scratch, so nothing is pulled. The script is also what
# the tests build it with (internal/testenv).
testbot-image:
	GO=$(GO) scripts/build-testbot.sh nectar-testbot:dev

clean:
	rm -rf $(BIN)
