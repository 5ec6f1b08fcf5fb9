# The two commands of README.md are `make demo` and `make test`; each
# installs what it needs (Debian packages for Heat, Go modules) and says
# clearly what it cannot install (Go itself).

GO ?= go
BIN := bin/openstack-driver

.PHONY: all build run demo test unit vet fmt check-go clean image bench bench-full

all: build

check-go:
	@bash scripts/check-go.sh

build: check-go
	$(GO) build -o $(BIN) ./cmd/openstack-driver

# The driver alone, in the foreground, on its embedded defaults (embedded
# Kafka broker, data in ./data). Stop it with Ctrl-C.
run: build
	./$(BIN)

# Local Heat + the driver + the example package: Create, then Delete.
demo: check-go
	bash scripts/demo.sh

# Everything: vet, unit tests, and the integration suite against a real
# Heat and Keystone (installed from Debian's packages when missing).
# install.sh exits 3 where it cannot install (not root, not Debian): the
# integration suite then skips loudly, or fails under CI=true.
test: check-go
	bash scripts/openstack/install.sh || [ $$? -eq 3 ]
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v /test/integration)
	$(GO) test -count=1 -timeout 40m -v ./test/integration/ -ginkgo.succinct

# The tests that need no Heat (testdrive's lab specs are labelled heat).
unit: check-go
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -e /test/integration -e /testdrive)
	$(GO) test -count=1 ./testdrive -ginkgo.label-filter='!heat'

vet: check-go
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || \
		{ gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# Load harness: the driver binary under load against a simulated Heat and
# Keystone, and the anchor runs against a real Heat and Keystone (installed
# as for `make test`). Prints the table; about 4.5 minutes on 2 cores.
bench: check-go
	bash scripts/openstack/install.sh || [ $$? -eq 3 ]
	$(GO) run ./bench/cmd/loadrun

# The long run: a 5-minute stack in real time, 10 s of throughput.
bench-full: check-go
	bash scripts/openstack/install.sh || [ $$? -eq 3 ]
	$(GO) run ./bench/cmd/loadrun -full

# The container image, tagged openstack-driver:dev (needs a running Docker).
image:
	@command -v docker >/dev/null 2>&1 || { echo "make image needs docker on PATH; install Docker, or build the Dockerfile with another OCI builder." >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "make image: the Docker engine is not running (docker info failed)." >&2; exit 1; }
	docker build -t openstack-driver:dev .

clean:
	rm -rf bin .state
