# Glint: `make run` serves on the embedded defaults, `make test` runs every test.
GO        ?= go
MODELS    ?= models
STAMP      = $(MODELS)/face-api/.integrity $(MODELS)/human/.integrity

.PHONY: all build run test test-short bench lint models sdk clean

all: build

$(STAMP): scripts/models.lock scripts/models.sh
	GLINT_MODELS=$(MODELS) ./scripts/models.sh

models: $(STAMP)

build: $(STAMP)
	$(GO) build -trimpath -o bin/glint ./cmd/glint

run: build
	./bin/glint serve

STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	GOARCH=arm64 $(GO) vet ./internal/nn/...
	$(GO) run $(STATICCHECK) ./...

# The SDK bundle and capture page are committed (go build needs no Node);
# `make sdk` rebuilds them reproducibly and internal/sdk's tests fail when
# they are stale.
sdk:
	cd web && npm ci --no-audit --no-fund && node build.mjs

test: $(STAMP) lint
	cd web && node --test sdk/test/
	# Under a throw-away PostgreSQL server, for the PostgreSQL store's
	# share of the tests (they fail under CI=true without one).
	./scripts/with-postgres.sh $(GO) test -count=1 -timeout 20m -skip TestBrowserVerification ./...
	# Alone, so that the page's colour timing does not compete with the
	# other packages' tests for the two cores.
	$(GO) test -count=1 -timeout 10m -run TestBrowserVerification ./cmd/glint
	$(GO) test -count=1 -tags purego ./internal/nn/...

bench: $(STAMP)
	$(GO) test -run '^$$' -bench . -benchtime 20x ./internal/...

clean:
	rm -rf bin
