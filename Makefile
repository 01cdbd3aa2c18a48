# Twofold: `make run` serves the portal, `make test` runs every test.
# make test installs the Debian packages it needs (scripts/deps.sh).

SHELL    := /bin/bash
GO       ?= go
MODULES  := ./shared/... ./server/... ./desktop/... ./qa/...
# name:package:count of every fuzz target. make test runs each for its
# count of inputs: a count has no deadline for Go's fuzz coordinator to
# race on a starved machine (golang/go#75804), and a crash still fails.
# make fuzz runs each for FUZZTIME.
FUZZ     := FuzzParseURI:./shared/totp:60000 FuzzDecode:./shared/migration:60000 \
            FuzzDecodeBytes:./shared/qr:10000 FuzzRequests:./server/web:5000 \
            FuzzReadBackup:./desktop/vault:3000
FUZZTIME ?= 2m
export LANG := en_US.UTF-8

.PHONY: all run desktop build test test-shared test-server test-desktop test-qa e2e fuzz fuzz-short bench lint deps package clean load load-sqlite samples

all: build

run:
	$(GO) run ./server/cmd/twofold-portal

desktop: deps
	$(GO) run ./desktop/cmd/twofold

build: deps
	$(GO) build -o bin/twofold-portal ./server/cmd/twofold-portal
	$(GO) build -o bin/twofold ./desktop/cmd/twofold

deps:
	@scripts/deps.sh

test: deps
	$(MAKE) --no-print-directory lint test-shared fuzz-short test-server test-desktop test-qa e2e

test-shared:
	$(GO) test -count=1 ./shared/...

test-server:
	$(GO) test -count=1 -timeout 20m ./server/...

test-desktop:
	scripts/with-keyring.sh $(GO) test -count=1 -timeout 20m ./desktop/...

# The real binaries: the desktop app under Xvfb and without a keyring, the
# load generator's short run, the bench's own checks.
test-qa:
	scripts/with-keyring.sh $(GO) test -count=1 -timeout 20m ./qa/...

# The QA end-to-end run: real portal, chromium in a window on a private Xvfb,
# the desktop app scanning the screen, a private Secret Service.
# Screenshots of every step go to e2e-artifacts/.
e2e: build
	scripts/with-keyring.sh $(GO) test -tags e2e -count=1 -timeout 15m -v ./qa/e2e \
	  -args -bin $(CURDIR)/bin -artifacts $(CURDIR)/e2e-artifacts

fuzz-short:
	@for t in $(FUZZ); do IFS=: read -r name pkg count <<<"$$t"; \
	  $(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$${count}x $$pkg || exit 1; \
	done

fuzz:
	@for t in $(FUZZ); do IFS=: read -r name pkg count <<<"$$t"; \
	  $(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

# make bench: the five groups of issue 7, each against a baseline measured in
# the same run; writes bench/RESULTS.md. BENCHFLAGS: e.g. -groups 1,2.
BENCHFLAGS ?=

bench: deps
	$(GO) build -o bin/twofold-portal ./server/cmd/twofold-portal
	$(GO) build -o bin/twofold ./desktop/cmd/twofold
	$(GO) build -o bin/barewindow ./qa/cmd/barewindow
	$(GO) build -o bin/baregin ./qa/cmd/baregin
	scripts/with-keyring.sh $(GO) run ./qa/cmd/twofold-bench -bin bin -samples ../shared/samples -out bench/RESULTS.md $(BENCHFLAGS)

# Load: throwaway PostgreSQL, two portal instances, concurrent users on loopback.
LOAD_ARGS ?= -start postgres -instances 2 -users 16 -accounts 8 -duration 30s

load: deps
	$(GO) run ./qa/cmd/twofold-load $(LOAD_ARGS)

load-sqlite: deps
	$(GO) run ./qa/cmd/twofold-load -start sqlite -users 8 -accounts 8 -duration 30s

# The importers against other apps' files in ../shared/samples (team machines).
samples: build
	scripts/with-keyring.sh scripts/check-samples.sh ../shared/samples

lint:
	@out=$$(gofmt -l shared server desktop qa); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(MODULES)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(MODULES)

package: deps
	$(GO) install fyne.io/tools/cmd/fyne@v1.7.4
	cd desktop/cmd/twofold && $$($(GO) env GOPATH)/bin/fyne package --os linux --release \
	  --icon ../../../assets/icon.png --name Twofold --app-id dev.twofold.authenticator
	mkdir -p dist && mv desktop/cmd/twofold/*.tar.xz dist/

clean:
	rm -rf bin dist e2e-artifacts
