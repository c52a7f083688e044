# Two entry points: `make run` and `make test` (see README.md).
GO      ?= go
# One version for both binaries and the packages: the v* git tag, else FyneApp.toml.
VERSION ?= $(shell packaging/version.sh)
LDFLAGS := -X main.version=$(VERSION)
export GOFLAGS ?= -buildvcs=false

.PHONY: deps build run test vet bench

deps:
	@packaging/dev-deps.sh

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/jax ./cmd/jax
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/jax-tray ./cmd/jax-tray

# The tray app; with no display, the headless daemon with the same first-run
# defaults (a first bucket mounted at ~/Jax/Personal).
run: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/jax ./cmd/jax
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		$(GO) build -ldflags "$(LDFLAGS)" -o bin/jax-tray ./cmd/jax-tray && exec bin/jax-tray; \
	else \
		exec packaging/run-headless.sh; \
	fi

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

test: deps vet
	$(GO) test -race -count=1 -timeout 20m ./...

bench: build
	bench/add_cat.sh

.PHONY: package package-test package-fyne vet-darwin

# dist/jax_VERSION_ARCH.deb (nfpm): both binaries, menu entry, icons, the
# systemd user unit, man pages and completions.
package: deps
	GO=$(GO) VERSION=$(VERSION) packaging/mkdeb.sh

# Installs the .deb, runs the installed commands and daemon, removes it (root).
package-test: package
	packaging/package-test.sh

# dist/Jax.tar.xz, the archive 'fyne package -os linux' makes.
package-fyne: deps
	GO=$(GO) VERSION=$(VERSION) packaging/fyne-package.sh linux

# Every package but the GUI ones (tray, cmd/jax-tray), which need cgo for
# OpenGL; Linux-only calls are in _linux.go files with macOS versions
# beside them (see README.md, "macOS").
DARWIN_VET := ./app ./app/p2p ./app/syncer ./assets ./cmd/jax ./fuse ./fuse/manager ./packaging ./store/...
vet-darwin:
	GOOS=darwin CGO_ENABLED=0 $(GO) vet $(DARWIN_VET)
