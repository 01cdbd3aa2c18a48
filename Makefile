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
            FuzzReadBackup:./desktop/vault:3000 FuzzParse:./shared/argon2id:60000 \
            FuzzParseFast:./desktop/keyring:30000
FUZZTIME ?= 2m
export LANG := en_US.UTF-8

.PHONY: all run desktop build test test-shared test-server test-desktop test-qa e2e fuzz fuzz-short bench lint deps package clean load load-sqlite samples

all: build

run:
	$(GO) run ./server/cmd/twofold-portal

desktop: deps-build
	$(GO) run ./desktop/cmd/twofold

build: deps-build
	$(GO) build -o bin/twofold-portal ./server/cmd/twofold-portal
	$(GO) build -o bin/twofold ./desktop/cmd/twofold

deps:
	@scripts/deps.sh

test: deps
	$(MAKE) --no-print-directory lint test-shared fuzz-short test-server test-desktop test-qa e2e test-packages test-windows

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
e2e: deps-test build
	scripts/with-keyring.sh $(GO) test -tags e2e -count=1 -timeout 30m -v ./qa/e2e \
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
	$(MAKE) --no-print-directory lint-platforms

clean:
	rm -rf bin dist e2e-artifacts

# Packages (issue 11). Name, app ID and version: FyneApp.toml, nowhere else.
.PHONY: deps-build deps-package deps-test package package-windows package-macos package-all test-packages test-windows lint-platforms

deps-build:
	@scripts/deps.sh build
deps-package:
	@scripts/deps.sh package
deps-test:
	@scripts/deps.sh test

# dist/twofold_VERSION-BUILD_ARCH.deb and dist/Twofold-VERSION-linux-ARCH.tar.xz
package: deps-package
	GO=$(GO) scripts/package-linux.sh

# dist/twofold-VERSION-windows-amd64.msi (and dist/windows/twofold.exe)
package-windows: deps-package
	GO=$(GO) scripts/package-windows.sh

# dist/Twofold.app and its zip: only on a Mac (says so elsewhere).
package-macos:
	GO=$(GO) scripts/package-macos.sh

package-all: package package-windows
	@if [ "$$(uname -s)" = Darwin ]; then $(MAKE) --no-print-directory package-macos; \
	else echo "package-all: the macOS .app is built on a Mac (make package-macos there)"; fi
	@ls -l dist

# The .deb and tarball: desktop-file-validate, appstreamcli, dpkg -x and run;
# then one window with two real processes of the packaged binary (Xvfb).
test-packages: deps-test package
	scripts/with-keyring.sh scripts/test-packages.sh
	rm -rf dist/deb-root && mkdir -p dist/deb-root e2e-artifacts && dpkg -x dist/twofold_*_$$(dpkg --print-architecture).deb dist/deb-root
	ARTIFACTS=e2e-artifacts scripts/with-keyring.sh scripts/with-xvfb.sh scripts/test-one-window.sh dist/deb-root/usr/bin/twofold
	rm -rf dist/deb-root

# The MSI installed and run under Wine 8.0 in a private prefix, window under Xvfb.
test-windows: deps-test package-windows
	scripts/test-windows.sh

# go vet for macOS (arm64, amd64) and Windows of every desktop package that
# vets without cgo. Not the packages importing Fyne (ui, cmd/*): Fyne's
# go-gl needs cgo (and Apple's SDK for darwin), as for any Fyne app; the
# Windows build of those is checked by make package-windows with mingw.
NOCGO_DESKTOP := ./desktop/vault/... ./desktop/keyring/... ./desktop/instance/... ./desktop/release/...
lint-platforms:
	@for p in darwin/arm64 darwin/amd64 windows/amd64; do \
	  echo "go vet $$p"; \
	  CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet $(NOCGO_DESKTOP) ./shared/... || exit 1; \
	done
	@echo "go vet windows/amd64 desktop/screen"
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) vet ./desktop/screen/
	@# kbinani/screenshot captures on macOS through cgo only: without it,
	@# its stub stands in, and desktop/screen's own macOS files are vetted.
	@for a in arm64 amd64; do echo "go vet darwin/$$a desktop/screen"; \
	  CGO_ENABLED=0 GOOS=darwin GOARCH=$$a $(GO) vet ./desktop/screen/ || exit 1; \
	done
