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

# The main job: look at the reach task, train PPO on it, evaluate, plot, export a bundle
# and deploy it over ROS 2 to a simulated arm (policy node + sim-robot node, real DDS).
SR := $(VENV)/bin/simreal
demo: setup
	$(SR) rollout franka-reach --num-envs 256 --steps 150 --picture out/franka-reach.png
	rm -rf out/demo-reach out/demo-reach-bundle
	$(SR) train franka-reach --algo ppo --num-envs 512 --steps 1500000 --seed 0 --run-dir out/demo-reach
	$(SR) eval out/demo-reach --episodes 256
	$(SR) plot out/demo-reach
	$(SR) export out/demo-reach --out out/demo-reach-bundle
	$(SR) deploy-demo out/demo-reach-bundle --targets 5

test: setup
	$(PY) -m ruff check simreal tasks ros_nodes tests setup.py
	$(PY) -m pytest -q tests

test-slow: setup
	$(PY) -m pytest -q -m slow tests

bench: setup
	$(VENV)/bin/simreal bench sim --task franka-lift --num-envs 1024
