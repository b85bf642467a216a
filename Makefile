# Single entry point. `make test` is what CI runs (.ci/run).
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STUBS := $(VENV)/stubs
# pyright keeps its node package here, so tests never download it
export PYRIGHT_PYTHON_CACHE_DIR := $(CURDIR)/$(VENV)/pyright-cache

STUB_PORTS := rp2 esp32
pin = $(shell grep -E '^$(1)==' requirements.txt)

.PHONY: venv node test check sim bench rig deploy console clean emu mutate campaign realism

venv: $(STAMP)

$(STAMP): requirements.txt
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	grep -v -- '-stubs==' requirements.txt > $(VENV)/requirements-host.txt
	$(VPY) -m pip install -q -r $(VENV)/requirements-host.txt
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
node: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test: venv node
	$(VPY) -m pytest -q -rfE host_tests

# `make console ARGS=--sim` or `make console ARGS="--port /dev/ttyACM0"`: the bench console
console: venv node
	$(VPY) -m tools.cli console $(ARGS)

# Target checks alone: mpy-cross for armv6m/xtensawin and pyright against each port's stubs.
check: venv
	$(VPY) -m pytest -q -rfE host_tests/test_targets.py

sim rig deploy: venv
	$(VPY) -m tools.cli $@ $(ARGS)

# `make sim SCENARIO=examples/h01_air.json OUT=out/h01` (default: examples/demo.json -> out/sim)
sim: ARGS += $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(OUT),--out $(OUT)) $(if $(TARGET),--target $(TARGET))

# The firmware on an emulated Pico (rp2040js), deployed and wired to the simulated world, its
# REPL on a pty: needs ECMO_RP2_FIRMWARE and ECMO_RP2_BOOTROM (README, "Emulated Pico")
emu: venv node
	$(VPY) -m tools.emu $(ARGS)

# `make deploy PORT=/dev/ttyACM0 BOARD=pico` (or ARGS="--port ... --dry-run")
deploy: ARGS += $(if $(PORT),--port $(PORT)) $(if $(BOARD),--board $(BOARD))

# Benchmarks (docs/bench.md): prints the table and writes bench.json; ARGS=--quick for a smoke run
bench: venv
	$(VPY) -m tools.bench $(ARGS)

# Fault campaign (docs/campaign.md): the declared matrix + a random sample, all cores;
# ARGS="--scheduler tcp://host:8786" for a Dask cluster, "--tier quick" for the small sample,
# "--budget-s 900" to bound it (resumable: a second call goes on where it stopped), "--doc"
# to rewrite docs/campaign.md and examples/campaign/.
campaign: venv
	$(VPY) -m tools.campaign $(ARGS)

# Mutation score of the safety, control and driver code (docs/mutation.md); ARGS="--module pid.py"
mutate: venv
	$(VPY) -m tools.mutate --doc docs/mutation-report.md $(ARGS)

# The simulated rig against published figures (docs/simulation.md): published vs simulated
realism: venv
	$(VPY) tools/sim/realism.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
