# Glint: `make run` serves on the embedded defaults, `make test` runs every test.
GO        ?= go
MODELS    ?= models
STAMP      = $(MODELS)/face-api/.integrity $(MODELS)/human/.integrity

.PHONY: all build run test test-short bench lint models sdk clean fuzz

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

# web/node_modules: the pinned esbuild and TypeScript (sdk/test/types.test.mjs
# runs tsc); installed from the lock file, again only when that changes.
WEB_DEPS = web/node_modules/.package-lock.json

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund

test: $(STAMP) lint $(WEB_DEPS)
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

# `make fuzz` runs every fuzz target of the repository (every `func FuzzX`
# in a _test.go file), one after the other, each for FUZZTIME (a -fuzztime
# value: 60s, 10m, or 1000000x for a number of executions), or for
# FUZZTIME_FuzzX when that is set (`make fuzz FUZZTIME=10m
# FUZZTIME_FuzzDecode=3m`), then prints time and executions per target.
# FUZZ narrows the run to the targets matching a regular expression. A
# crash fails the target and leaves its input in the package's
# testdata/fuzz/FuzzX, where `go test` replays it from then on.
FUZZTIME ?= 60s
FUZZ     ?= .

fuzz:
	@summary=$$(mktemp); log=$$(mktemp); failed=0; \
	for file in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
	  pkg=./$$(dirname $${file#./}); \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file | grep -E -- '$(FUZZ)'); do \
	    ft=$$(printenv FUZZTIME_$$target || echo '$(FUZZTIME)'); \
	    echo "== $$target ($$pkg) for $$ft"; \
	    if $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime "$$ft" "$$pkg" >$$log 2>&1; \
	    then result=ok; else result=FAIL; failed=1; cat $$log; fi; \
	    grep '^fuzz: elapsed' $$log | tail -n 1; \
	    stats=$$(grep '^fuzz: elapsed' $$log | tail -n 1 | awk '{ \
	      d = $$3; sub(/,$$/, "", d); n = $$5; s = 0; t = d; \
	      while (match(t, /[0-9]+[hms]/)) { \
	        v = substr(t, RSTART, RLENGTH - 1); u = substr(t, RSTART + RLENGTH - 1, 1); \
	        s += (u == "h" ? 3600 : u == "m" ? 60 : 1) * v; t = substr(t, RSTART + RLENGTH) } \
	      printf "%8s %12d %10.0f", d, n, (s ? n / s : 0) }'); \
	    printf '%-22s %-20s %31s %s\n' $$target $$pkg "$${stats:--}" $$result >>$$summary; \
	  done; \
	done; \
	printf '\n%-22s %-20s %8s %12s %10s %s\n' target package time execs 'execs/s' result; \
	cat $$summary; rm -f $$summary $$log; exit $$failed

clean:
	rm -rf bin
