# Custodian — the two commands a newcomer needs are `make run` and `make test`.
# Both install whatever is missing on a Debian/Ubuntu machine first.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
NPM ?= npm

# Debian packages: the C toolchain for SQLCipher/OpenSSL, WebKitGTK and
# friends for Tauri, Xvfb and WebKitWebDriver for the app's end-to-end tests
# (with a D-Bus session bus of their own: single-instance finds the running
# app over D-Bus), the reference `age` tool for bundle interoperability
# tests, and GNU time for the benchmarks' peak memory.
APT_PACKAGES := build-essential pkg-config curl wget file git ca-certificates \
	libssl-dev libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev \
	xvfb xauth webkit2gtk-driver age dbus time

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help run test screenshots setup deps-system deps-rust deps-ui deps-e2e deps-example ui build lint test-rust test-ui test-example bench bench-large bench-files bench-bundle bench-api bench-app bench-deliver package package-appimage package-check clean-vault-tmp crash fuzz deps-fuzz deny deps-deny

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: setup ui ## Build and open the desktop app on the default vault
	$(CARGO) build --locked -p custodian -p custodian-desktop
	@if [ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
		echo "make run: no display (DISPLAY/WAYLAND_DISPLAY unset). Run it from a desktop session, or: xvfb-run -a make run"; exit 1; \
	fi
	./target/debug/custodian-desktop

test: setup ui ## Set up, then every check and test (what CI runs)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-ui
	$(MAKE) --no-print-directory test-example
	$(MAKE) --no-print-directory test-rust

# The tests write their screenshots under target/; this writes the committed ones.
screenshots: setup ui ## Refresh docs/screenshots/*.png from the app's end-to-end tests
	$(CARGO) build --locked --workspace --bins
	CUSTODIAN_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots \
		$(CARGO) test --locked -p custodian-e2e --test desktop

setup: deps-system deps-rust deps-ui deps-e2e deps-example ## Install what is missing (apt, cargo and npm packages)

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

# tauri-driver: the WebDriver proxy between the app's end-to-end tests
# (tests/desktop.rs) and WebKitWebDriver (Debian's webkit2gtk-driver, above).
deps-e2e: deps-rust
	@command -v tauri-driver >/dev/null || { \
		echo "Installing tauri-driver (cargo install)"; \
		$(CARGO) install tauri-driver --version ^2 --locked; \
	}

deps-ui:
	@command -v node >/dev/null || { echo "Installing Node.js and npm"; $(SUDO) apt-get install -y -qq nodejs npm; }
	@# `npm install`, not `npm ci`: the lock records the Tauri CLI's binary
	@# for this platform only (the registry mirror here serves no others),
	@# and `npm ci` refuses a lock without every platform's optional package.
	@if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then \
		echo "Installing UI packages (npm install)"; \
		cd ui && $(NPM) install --no-audit --no-fund; \
	fi

# The example company (examples/company, Node): its lock holds no
# platform-specific package, so `npm ci` installs exactly what it records.
deps-example:
	@command -v node >/dev/null || { echo "Installing Node.js and npm"; $(SUDO) apt-get install -y -qq nodejs npm; }
	@if [ ! -d examples/company/node_modules ] || [ examples/company/package-lock.json -nt examples/company/node_modules/.package-lock.json ]; then \
		echo "Installing the example company's packages (npm ci)"; \
		cd examples/company && $(NPM) ci --no-audit --no-fund; \
	fi

ui: deps-ui ## Build the web front end into ui/dist
	cd ui && $(NPM) run build

lint: ## Formatting, clippy and the UI type check
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	cd ui && $(NPM) run check

test-ui: ## UI unit tests (Vitest)
	cd ui && $(NPM) test

test-example: deps-example ## The example company's tests (node --test)
	cd examples/company && $(NPM) test

test-rust: ## Rust unit, integration and end-to-end tests
	# The end-to-end tests drive the real binaries, so build them first.
	$(CARGO) build --locked --workspace --bins
	$(CARGO) test --locked --workspace

bench: setup ## Storage benchmark (release build); see docs/BENCHMARKS.md
	$(CARGO) bench --locked -p custodian-core --bench storage --features test-support

bench-api: ## Pod API load test (wrk) beside a no-op floor and the Community Solid Server
	scripts/bench-api

bench-app: setup ui ## The app: launch time and memory (idle, 10,000 resources), tree and search on 1,000,000 (release)
	$(CARGO) build --locked --release -p custodian-desktop
	CUSTODIAN_DESKTOP_BIN=$(CURDIR)/target/release/custodian-desktop \
		$(CARGO) test --locked --release -p custodian-e2e --test desktop_bench -- --ignored --nocapture --test-threads=1

# The CLI's test hooks (the test resolver and CA) are in debug builds only;
# this release build turns them on with custodian-link's test-hooks feature.
# Sizes: CUSTODIAN_BENCH_COMPANIES (1,000), CUSTODIAN_BENCH_BACKLOG (10,000).
bench-deliver: setup ## Deliveries: one change to 1,000 companies, a 10,000 backlog (release, local HTTPS)
	$(CARGO) build --locked --release -p custodian --features custodian-link/test-hooks
	$(CARGO) test --locked --release -p custodian-e2e --test links_bench -- --ignored --nocapture

# A lifetime of data (docs/BENCHMARKS.md, issue 16): a shell of steps, each
# its own command. BENCH_RESOURCES / BENCH_CONTAINER / BENCH_LARGE /
# BENCH_LARGE_KIB shrink the vault and BENCH_FILE_GIB the files for a quick
# check (BENCH_FILE_GIB=0.0625 is 64 MiB); the vault needs about 7 GB free
# in TMPDIR, the files 3 times their size plus 1 GiB.
BENCH_RESOURCES ?= 1000000
BENCH_CONTAINER ?= 100000
BENCH_LARGE ?= 10000
BENCH_LARGE_KIB ?= 300
BENCH_FILE_GIB ?= 1 8
bench-large: setup ## Large vaults (release, long): 1,000,000 + 10,000 large resources, then 1 and 8 GiB files
	@echo "== bench-large: $(BENCH_RESOURCES) small resources, one container of $(BENCH_CONTAINER), $(BENCH_LARGE) of $(BENCH_LARGE_KIB) KiB"
	CUSTODIAN_BENCH_RESOURCES=$(BENCH_RESOURCES) CUSTODIAN_BENCH_CONTAINER=$(BENCH_CONTAINER) \
		CUSTODIAN_BENCH_LARGE=$(BENCH_LARGE) CUSTODIAN_BENCH_LARGE_KIB=$(BENCH_LARGE_KIB) \
		$(CARGO) bench --locked -p custodian-core --bench large --features test-support
	$(MAKE) --no-print-directory bench-files

bench-files: setup ## Large files (release): put, get, pod GET, export, import of BENCH_FILE_GIB (1 8) GiB beside cat, cp, age
	@echo "== bench-files: files of $(BENCH_FILE_GIB) GiB"
	$(CARGO) build --locked --release -p custodian
	CUSTODIAN_BENCH_FILE_GIB="$(BENCH_FILE_GIB)" \
		$(CARGO) test --locked --release -p custodian-e2e --test files_bench -- --ignored --nocapture

bench-bundle: setup ## Export/import benchmark, 100,000 resources, beside tar+age
	$(CARGO) bench --locked -p custodian-core --bench bundle --features test-support

# Faults (docs/FAULTS.md). `make test` kills writers ~60 times, passwd and
# import 4 times each; this is the long run of the same tests.
CRASH_KILLS ?= 1000
CRASH_PASSWD_KILLS ?= 40
CRASH_IMPORT_KILLS ?= 40
crash: setup ## Crash safety, long run: SIGKILL writers CRASH_KILLS times (1,000), passwd and import 40 each
	$(CARGO) build --locked --workspace --bins
	CUSTODIAN_CRASH_KILLS=$(CRASH_KILLS) CUSTODIAN_CRASH_PASSWD_KILLS=$(CRASH_PASSWD_KILLS) \
	CUSTODIAN_CRASH_IMPORT_KILLS=$(CRASH_IMPORT_KILLS) \
		$(CARGO) test --locked -p custodian-e2e --test crash -- --nocapture --test-threads=1

# Fuzzing needs a nightly toolchain (libFuzzer's instrumentation); the rest of
# the build and every test stay on stable. The fuzz crate is a workspace of
# its own under fuzz/ with its own lock file and target directory.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := path authorization_details bundle pod_request
deps-fuzz: deps-rust
	@rustup toolchain list | grep -q '^nightly' || { echo "Installing the nightly toolchain (rustup)"; rustup toolchain install nightly --profile minimal; }
	@command -v cargo-fuzz >/dev/null || { echo "Installing cargo-fuzz (cargo install)"; $(CARGO) install cargo-fuzz --locked; }

fuzz: deps-fuzz ## Run each fuzz target for FUZZ_SECONDS (60) from its corpus in fuzz/corpus
	@# No sanitizer: our code has no `unsafe`, and ASan would not see into
	@# SQLCipher's C (built without instrumentation) anyway; debug assertions
	@# stay on, so overflows panic. New inputs go to fuzz/scratch (ignored).
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		mkdir -p scratch/$$t; \
		echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
		$(CARGO) +nightly fuzz run --sanitizer none $$t scratch/$$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; \
	done

# Supply chain: licences, duplicate versions and sources, offline; the
# advisory database lives on github.com, which this machine cannot reach,
# so `deny` tries it and says so when it cannot.
deps-deny: deps-rust
	@command -v cargo-deny >/dev/null || { echo "Installing cargo-deny (cargo install)"; $(CARGO) install cargo-deny --locked; }

deny: deps-deny ## Supply chain: licences, bans (duplicates), sources; advisories where github.com is reachable
	$(CARGO) deny --locked check licenses bans sources
	@if curl -sfI --max-time 10 -o /dev/null https://github.com; then \
		$(CARGO) deny --locked check advisories; \
	else \
		echo "make deny: advisories SKIPPED: the RustSec database is fetched from github.com, which this machine cannot reach."; \
	fi

# Installable packages, built by the Tauri CLI from ui/node_modules. It runs in
# src-tauri/ (beside tauri.conf.json) and skips the config's beforeBuildCommand:
# the `ui` prerequisite has just built ui/dist.
TAURI_BUILD := cd src-tauri && ../ui/node_modules/.bin/tauri build --ci --config '{"build":{"beforeBuildCommand":""}}'
BUNDLE_DIR := target/release/bundle
# The AppImage bundler fetches linuxdeploy, AppRun and linuxdeploy's GTK plugin
# from GitHub into ~/.cache/tauri on first use.
APPIMAGE_TOOLS := $(HOME)/.cache/tauri/linuxdeploy-x86_64.AppImage

package: setup ui ## Release build and a .deb (an AppImage too where its tools can be had)
	$(TAURI_BUILD) --bundles deb -- --locked
	@if [ -e "$(APPIMAGE_TOOLS)" ] || curl -sfI --max-time 10 -o /dev/null https://github.com; then \
		$(MAKE) --no-print-directory package-appimage \
			|| echo "make package: AppImage FAILED (see above); the .deb is complete."; \
	else \
		echo "make package: AppImage SKIPPED: its bundler downloads linuxdeploy and AppRun from github.com, which this machine cannot reach (and $(APPIMAGE_TOOLS) is not cached)."; \
	fi
	@echo "Packages:"; ls -l $(BUNDLE_DIR)/deb/*.deb $(BUNDLE_DIR)/appimage/*.AppImage 2>/dev/null | sed 's/^/  /' || true

package-appimage: setup ui ## Release build and an AppImage (needs github.com, or its tools in ~/.cache/tauri)
	@# linuxdeploy is itself an AppImage: let it run without FUSE.
	export APPIMAGE_EXTRACT_AND_RUN=1; $(TAURI_BUILD) --bundles appimage -- --locked
	@ls -l $(BUNDLE_DIR)/appimage/*.AppImage

package-check: ## Install the built .deb, start the app under Xvfb, uninstall (root or sudo)
	scripts/check-package
