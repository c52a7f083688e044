# Two entry points: `make run` and `make test` (see README.md).
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
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
