# dbplane: two commands on a fresh Debian machine with Rust.
#   make run   installs what is missing, builds release, bootstraps on first run, serves
#   make test  installs what is missing, runs every test against real servers

DATA_DIR ?= ./dbplane-data
LISTEN ?= 127.0.0.1:8080

.PHONY: run test deps build lint bench-api bench-dataplane bench-schema bench-osc bench-backup bench-lists bench-edge bench-http-sql

deps:
	@scripts/install-deps.sh

build:
	cargo build --release --locked -p dbplane

run: deps build
	@DATA_DIR="$(DATA_DIR)" LISTEN="$(LISTEN)" scripts/run.sh

test: deps
	@scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	@test -z "$$(gofmt -l tests/clients/go)" || { gofmt -l tests/clients/go; exit 1; }
	cd tests/clients/go && go vet ./...

bench-api:
	benches/api_throughput.sh

bench-dataplane: deps
	benches/dataplane_latency.sh

bench-osc: deps
	benches/online_ddl.sh

bench-backup: deps
	benches/backup_restore.sh

bench-lists: deps
	benches/list_latency.sh

bench-edge: deps
	benches/edge_sysbench.sh

bench-http-sql: deps
	benches/http_sql.sh

bench-schema:
	cargo bench -p dbplane-schema --bench diff
	cargo test --release -p dbplane-schema --test introspect_scale -- --ignored --nocapture
