# The two set-up commands of the README: `make demo` (install, run the main job) and
# `make test` (install, run the test suite). Both are idempotent.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Debian packages: Mesa EGL/OSMesa for offscreen rendering (simreal view); libusb for open3d.
DEBS   := libegl1 libgl1-mesa-dri libosmesa6 libusb-1.0-0

.PHONY: setup demo test test-slow bench
setup: $(STAMP)

$(STAMP): setup.py
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/simreal rollout franka-reach --num-envs 256 --steps 300 --picture out/franka-reach.png

test: setup
	$(PY) -m pytest -q tests

test-slow: setup
	$(PY) -m pytest -q -m slow tests

bench: setup
	$(VENV)/bin/simreal bench sim --task franka-lift --num-envs 1024
