# Two commands do all set-up: `make run` (the app on its demo) and `make test` (everything CI runs).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean test-repeat

$(STAMP): pyproject.toml setup.py desktop_app/engine/hotpath/_hotpath.c
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/state-studio $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy desktop_app/engine
	$(BIN)/lint-imports

# The engine's tests (and the UI tests that read lock statistics or wait on change events) run
# twice: once on the pure-Python hot paths (STATE_STUDIO_PURE=1), then with everything else on the
# compiled ones.
PURE_TESTS := tests/engine tests/ui/locks tests/ui/bridge/test_bridge.py

test: lint
	STATE_STUDIO_PURE=1 $(BIN)/pytest -q $(PURE_TESTS)
	$(BIN)/pytest -q

# The timing-sensitive tests N times in a row (default 20) with one core kept busy: a flake shows here.
N ?= 20
test-repeat: $(STAMP)
	$(BIN)/python -m tests.repeat -n $(N)

bench: $(STAMP)
	$(BIN)/python -m bench.engine
	$(BIN)/python -m bench.redis_bench
	$(BIN)/python -m bench.attach_bench
	$(BIN)/python -m bench.studio_cost

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache

# -- standalone bundle (PyInstaller, onedir) -------------------------------------------------------
# `make bundle` builds dist/state-studio/ (the launcher dist/state-studio/state-studio plus _internal/);
# `make bundle-test` builds it if missing or older than the sources, then starts it: --version, then
# --self-test offscreen.
PYINSTALLER_VERSION := 6.22.3
BUNDLE_EXE := dist/state-studio/state-studio

.PHONY: bundle bundle-test

bundle: $(STAMP)
	@$(BIN)/python -c "import PyInstaller, sys; sys.exit(PyInstaller.__version__ != '$(PYINSTALLER_VERSION)')" 2>/dev/null \
		|| $(BIN)/pip install -q 'pyinstaller==$(PYINSTALLER_VERSION)'
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/state-studio.spec
	@du -sh dist/state-studio

# Everything the spec puts in the bundle (what it leaves out, too: caches, the README screenshots), so
# bundle-test rebuilds a bundle older than the code instead of testing a stale one.
BUNDLE_INPUTS := $(shell find desktop_app resources -type f -not -path '*/__pycache__/*' -not -name '*.pyc' \
	-not -path 'resources/screenshots/*') packaging/state-studio.spec pyproject.toml

$(BUNDLE_EXE): $(STAMP) $(BUNDLE_INPUTS)
	$(MAKE) bundle
	touch $@

bundle-test: $(BUNDLE_EXE)
	@v="$$($(BUNDLE_EXE) --version)" && echo "$$v" && case "$$v" in *"(compiled hot paths)"*) ;; \
		*) echo "the bundle lacks desktop_app.engine.hotpath._hotpath (the compiled hot paths)" >&2; exit 1;; esac
	tmp=$$(mktemp -d) && \
		QT_QPA_PLATFORM=offscreen STATE_STUDIO_DATA_DIR="$$tmp" STATE_STUDIO_DEMO_PORT=0 \
		XDG_CONFIG_HOME="$$tmp/config" XDG_DATA_HOME="$$tmp/data" XDG_CACHE_HOME="$$tmp/cache" \
		$(BUNDLE_EXE) --self-test; rc=$$?; rm -rf "$$tmp"; exit $$rc
