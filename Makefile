# Single entry point. `make test` is what CI runs (.ci/run); `make help` lists the targets.
# Nothing needs activating: every target uses .venv/bin directly, and `.venv/bin/ecmo` (the host
# CLI, installed from pyproject.toml) works from any folder.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
SIM_STAMP := $(VENV)/.installed-sim
STAMP := $(VENV)/.installed
STUBS := $(VENV)/stubs
# pyright keeps its node package here, so tests never download it
export PYRIGHT_PYTHON_CACHE_DIR := $(CURDIR)/$(VENV)/pyright-cache
# requirements.txt: the lines above this marker are what running the tools needs
SPLIT := --- test and check

STUB_PORTS := rp2 esp32
pin = $(shell grep -E '^$(1)==' requirements.txt)
TESTS ?= host_tests

.PHONY: help venv venv-sim node test test-fast test-clone check sim rig deploy monitor plot autotune bench console clean emu mutate campaign realism image

help:           ## this list
	@grep -hE '^[a-z][a-z -]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z -]+):.*## /  make \1\t/' | expand -t 28

venv: $(STAMP)  ## everything: the tools plus test and check dependencies (pyright, pytest, stubs)

venv-sim: $(SIM_STAMP)  ## only what the simulator and host tools need (no Node, no pyright)

$(SIM_STAMP): requirements.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	sed -n '/$(SPLIT)/q;p' requirements.txt > $(VENV)/requirements-sim.txt
	$(VPY) -m pip install -q -r $(VENV)/requirements-sim.txt
	PYTHONWARNINGS=ignore $(VPY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(STAMP): $(SIM_STAMP)
	sed -n '/$(SPLIT)/,$$p' requirements.txt | grep -v -- '-stubs==' > $(VENV)/requirements-test.txt
	$(VPY) -m pip install -q -r $(VENV)/requirements-test.txt
	rm -rf $(STUBS)
	for port in $(STUB_PORTS); do \
	  $(VPY) -m pip install -q --no-deps --target $(STUBS)/$$port \
	    $$(grep -E "^micropython-$$port-stubs==" requirements.txt) \
	    $(call pin,micropython-stdlib-stubs) || exit 1; \
	done
	$(VENV)/bin/pyright --version
	touch $@

# Node packages (package.json): uPlot for the console, served from node_modules
NODE_STAMP := node_modules/.package-lock.json
node: $(NODE_STAMP)     ## Node packages for the console (npm ci)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Test files run side by side on every core (pytest-xdist; a file stays on one worker, so its
# MicroPython run and its CPython items stay together); WORKERS=1 runs them one by one.
WORKERS ?= auto
test: venv node ## the whole suite (CI); TESTS=path narrows it, WORKERS=n sets the parallel runs
	$(VPY) -m pytest -q -rfE --durations=15 -n $(WORKERS) --dist loadfile $(TESTS)

# The day-to-day subset: firmware tests (both runtimes) and host-tool tests that need no pty
# rig, no browser and no fresh clone; the two host tests that compile every module or run a
# whole scenario (half of its time) are left to `make test`.
FAST := host_tests/fw/test_pid.py host_tests/fw/test_alarms.py host_tests/fw/test_settings.py \
        host_tests/fw/test_drivers.py host_tests/fw/test_help.py host_tests/test_cli.py \
        host_tests/test_package.py host_tests/test_hazards.py host_tests/test_docs.py
FAST_SKIP := not test_deploy_reuses_a_folder_it_marked and not test_make_sim_with_scenario_and_out
test-fast: venv ## a subset for day-to-day work (under a minute)
	$(VPY) -m pytest -q -rfE -k "$(FAST_SKIP)" $(foreach t,$(FAST),$(wildcard $(t)))

test-clone: venv        ## the full fresh clone: a new .venv, make sim, ecmo commands, make test (~4 min; make test runs a quick one)
	ECMO_FRESH_CLONE=1 $(VPY) -m pytest -q -rfE host_tests/test_fresh_clone.py

# `make console ARGS=--sim` or `make console ARGS="--port /dev/ttyACM0"`: the bench console
console: venv node      ## the bench console in a browser: ARGS=--sim or ARGS="--port ..."
	$(VENV)/bin/ecmo console $(ARGS)

# Target checks alone: mpy-cross for armv6m/xtensawin and pyright against each port's stubs.
check: venv     ## mpy-cross and pyright only
	$(VPY) -m pytest -q -rfE host_tests/test_targets.py

# `make sim SCENARIO=examples/h01_air.json OUT=out/h01` (default: examples/demo.json -> out/sim)
sim: venv-sim   ## run a scenario: SCENARIO=examples/x.json OUT=out/x
	$(VENV)/bin/ecmo sim $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(OUT),--out $(OUT)) $(if $(TARGET),--target $(TARGET)) $(ARGS)

# The firmware on an emulated Pico (rp2040js), deployed and wired to the simulated world, its
# REPL on a pty: needs ECMO_RP2_FIRMWARE and ECMO_RP2_BOOTROM (README, "Emulated Pico")
emu: venv node  ## the firmware on an emulated Pico (ECMO_RP2_FIRMWARE, ECMO_RP2_BOOTROM)
	$(VPY) -m tools.emu $(ARGS)

# The Pico image with the firmware frozen in (README, "A frozen image"): MICROPY_DIR is a
# MicroPython v1.28.0 tree with its submodules; needs arm-none-eabi-gcc and cmake
image: venv-sim ## Pico image with the firmware frozen in: MICROPY_DIR=/path/to/micropython
	$(VENV)/bin/python -m tools.image $(if $(MICROPY_DIR),--micropython $(MICROPY_DIR)) $(ARGS)

rig: venv-sim   ## the simulated rig behind a pty (ARGS="--board esp32")
	$(VENV)/bin/ecmo rig $(ARGS)

deploy: venv-sim        ## flash a board: PORT=/dev/ttyACM0 [BOARD=pico|esp32] (ARGS=--dry-run)
	$(VENV)/bin/ecmo deploy $(if $(PORT),--port $(PORT)) $(if $(BOARD),--board $(BOARD)) $(ARGS)

monitor: venv-sim       ## live telemetry: PORT=/dev/ttyACM0 [CSV=run.csv]
	$(VENV)/bin/ecmo monitor $(if $(PORT),--port $(PORT)) $(if $(CSV),--csv $(CSV)) $(ARGS)

plot: venv-sim  ## PNG of a telemetry CSV: CSV=run.csv [OUT=run.png]
	$(VENV)/bin/ecmo plot $(CSV) $(if $(OUT),-o $(OUT)) $(ARGS)

autotune: venv-sim      ## relay tuning: PORT=... BIAS=2800, or ARGS=--sim
	$(VENV)/bin/ecmo autotune $(if $(PORT),--port $(PORT)) $(if $(BIAS),--bias $(BIAS)) $(ARGS)

# Benchmarks (docs/bench.md): prints the table and writes bench.json; ARGS=--quick for a smoke run
bench: venv     ## benchmarks and their verdict table (ARGS=--quick: a smoke run)
	$(VPY) -m tools.bench $(ARGS)

# Fault campaign (docs/campaign.md): the declared matrix + a random sample, all cores;
# ARGS="--scheduler tcp://host:8786" for a Dask cluster, "--tier quick" for the small sample,
# "--budget-s 900" to bound it (resumable: a second call goes on where it stopped), "--doc"
# to rewrite docs/campaign.md and examples/campaign/.
campaign: venv  ## fault campaign on the simulated rig (docs/campaign.md)
	$(VPY) -m tools.campaign $(ARGS)

# Mutation score of the safety, control and driver code (docs/mutation.md); ARGS="--module pid.py"
mutate: venv    ## mutation score (docs/mutation.md)
	$(VPY) -m tools.mutate --doc docs/mutation-report.md $(ARGS)

realism: venv-sim ## the simulated rig against published figures (docs/simulation.md)
	$(VPY) tools/sim/realism.py

clean:          ## remove .venv and caches
	rm -rf $(VENV) .pytest_cache .hypothesis
