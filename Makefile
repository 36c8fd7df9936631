# 科协助手 — every command a newcomer or CI needs. `make help` lists them.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3.10
STAMP := $(VENV)/.installed
# The browser tests drive Debian's Chromium with Playwright (never `playwright install`).
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help run test setup kb model eval validate lock clean stack bench soak screenshots

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: setup ## set up, then start Rasa, the action server, the bot and the scheduler
	exec $(BIN)/bot run

test: setup $(CHROMIUM) ## set up, then run the whole test suite
	$(BIN)/pytest -q

screenshots: setup $(CHROMIUM) $(CJK_FONT) ## PNGs of the staff console, phone and desktop, into docs/screenshots/
	$(BIN)/pytest -q -s tests/browser/screenshots.py

# Installed with apt when missing (root or sudo): Debian's Chromium for the browser tests, a Chinese font
# for the screenshots.
$(CHROMIUM):
	$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium
$(CJK_FONT):
	$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q fonts-wqy-microhei

stack: setup ## the production topology as plain processes: local PostgreSQL + Redis, 2 Rasa replicas, 2 web workers
	exec $(BIN)/bot stack

bench: setup ## load on the local stack at 1, 8 and 32 users; bot vs bare Rasa (figures for the README)
	$(BIN)/python -m bench.run --json var/bench.json

soak: setup ## 10 minutes of mixed traffic with WeChat retries: no duplicates, no errors, bounded memory
	$(BIN)/python -m bench.soak --minutes $${SOAK_MINUTES:-10}

setup: $(STAMP) kb model ## venv, knowledge base, Rasa model (each only when stale)

$(STAMP): requirements.txt constraints.txt pyproject.toml .python-version
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

kb: $(STAMP) ## build the knowledge base from kb/corpus (unchanged reports are skipped)
	$(BIN)/bot kb build

model: $(STAMP) kb ## train the Rasa model when config or training data changed
	$(BIN)/bot train

validate: setup ## check the Rasa training data and domain
	$(BIN)/rasa data validate --data nlu_data --domain nlu_data/domain.yml --config config.yml --fail-on-warnings

eval: setup ## measure the knowledge base and the NLU model (figures for the README)
	$(BIN)/python -m kb.evaluate  # dev, extra*, fresh* (development) and test splits, with a plain BM25 baseline
	$(BIN)/python -m bot.nlu_eval all --out results/nlu  # 5-fold cross-validation (5 trainings, 5-10 min) + held-out set

lock: ## refresh constraints.txt from the current venv
	$(BIN)/pip freeze --exclude-editable > constraints.txt

clean: ## remove the venv, models and local data
	rm -rf $(VENV) models var
