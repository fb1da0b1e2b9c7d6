# Two commands do all the set-up on a bare machine with python3: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit protos bench bench-peers clean ops-deps ops-check browser-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/koepel demo

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict privacy
	$(BIN)/mypy

unit: $(STAMP) ops-deps browser-deps
	$(BIN)/python -m pytest -q

protos: $(STAMP)
	$(BIN)/python -m protos.generate

bench: $(STAMP) bench-peers
	$(BIN)/python -m bench

# The central-DP peers koepel is measured against (SmartNoise SQL, OpenDP's polars context),
# each in its own venv under bench/.peers/ (git-ignored), pinned in bench/peers-requirements-*.
bench-peers: $(STAMP)
	$(BIN)/python bench/peer_envs.py

# Ops tools for the ops tests (promtool, prometheus): Debian's prometheus package, unpacked into
# the venv rather than installed, so that no system service is started and nothing outside the
# project changes (about 19 MB, a few seconds: cheap enough for every `make test`).
OPS_TOOLS := $(VENV)/ops-tools
PROMTOOL  := $(OPS_TOOLS)/usr/bin/promtool

ops-deps: $(PROMTOOL)
	@command -v systemd-analyze >/dev/null || apt-get install -y --no-install-recommends systemd

$(PROMTOOL):
	@rm -rf $(OPS_TOOLS) && mkdir -p $(OPS_TOOLS)/deb
	cd $(OPS_TOOLS)/deb && { apt-get download prometheus 2>/dev/null \
	    || { apt-get update -qq && apt-get download prometheus; }; }
	dpkg-deb -x $(OPS_TOOLS)/deb/prometheus_*.deb $(OPS_TOOLS)
	rm -rf $(OPS_TOOLS)/deb $(OPS_TOOLS)/usr/share/doc
	@$(PROMTOOL) --version | head -1

# Debian's chromium for the web app's browser tests (tests/test_web_browser.py), driven by
# Playwright through executable_path; Playwright's own browser download is never attempted.
browser-deps:
	@test -x /usr/bin/chromium || { apt-get install -y --no-install-recommends chromium \
	    || { apt-get update -qq && apt-get install -y --no-install-recommends chromium; }; }

# Only the ops checks: promtool on the config, rules and a live node's /metrics, rule unit
# tests, hadolint, compose and Kubernetes schemas, systemd-analyze, a real Prometheus, and the
# compose and Kubernetes mutual-TLS layouts run on loopback.
ops-check: $(STAMP) ops-deps
	$(BIN)/python -m pytest -q tests/test_ops.py tests/test_ops_tls.py tests/test_prometheus.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
