# Custodian — the two commands a newcomer needs are `make run` and `make test`.
# Both install whatever is missing on a Debian/Ubuntu machine first.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
NPM ?= npm

# Debian packages: the C toolchain for SQLCipher/OpenSSL, WebKitGTK and
# friends for Tauri, Xvfb and WebKitWebDriver for the app's end-to-end tests,
# and the reference `age` tool for bundle interoperability tests.
APT_PACKAGES := build-essential pkg-config curl wget file git ca-certificates \
	libssl-dev libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev \
	xvfb xauth webkit2gtk-driver age

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help run test setup deps-system deps-rust deps-ui ui build lint test-rust test-ui bench bench-bundle bench-api clean-vault-tmp

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

run: setup ui ## Build and open the desktop app on the default vault
	$(CARGO) build --locked -p custodian -p custodian-desktop
	@if [ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
		echo "make run: no display (DISPLAY/WAYLAND_DISPLAY unset). Run it from a desktop session, or: xvfb-run -a make run"; exit 1; \
	fi
	./target/debug/custodian-desktop

test: setup ui ## Set up, then every check and test (what CI runs)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-ui
	$(MAKE) --no-print-directory test-rust

setup: deps-system deps-rust deps-ui ## Install what is missing (apt and npm packages)

deps-system:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

deps-rust:
	@command -v $(CARGO) >/dev/null || { echo "Rust is missing: install it with rustup (https://rustup.rs), then rerun."; exit 1; }

deps-ui:
	@command -v node >/dev/null || { echo "Installing Node.js and npm"; $(SUDO) apt-get install -y -qq nodejs npm; }
	@# `npm install`, not `npm ci`: the lock records the Tauri CLI's binary
	@# for this platform only (the registry mirror here serves no others),
	@# and `npm ci` refuses a lock without every platform's optional package.
	@if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then \
		echo "Installing UI packages (npm install)"; \
		cd ui && $(NPM) install --no-audit --no-fund; \
	fi

ui: deps-ui ## Build the web front end into ui/dist
	cd ui && $(NPM) run build

lint: ## Formatting, clippy and the UI type check
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	cd ui && $(NPM) run check

test-ui: ## UI unit tests (Vitest)
	cd ui && $(NPM) test

test-rust: ## Rust unit, integration and end-to-end tests
	# The end-to-end tests drive the real binaries, so build them first.
	$(CARGO) build --locked --workspace --bins
	$(CARGO) test --locked --workspace

bench: setup ## Storage benchmark (release build); see docs/BENCHMARKS.md
	$(CARGO) bench --locked -p custodian-core --bench storage --features test-support

bench-api: ## Pod API load test (wrk) beside a no-op floor and the Community Solid Server
	scripts/bench-api

bench-bundle: setup ## Export/import benchmark, 100,000 resources, beside tar+age
	$(CARGO) bench --locked -p custodian-core --bench bundle --features test-support
