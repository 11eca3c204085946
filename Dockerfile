# Huawei Whisperer as a container image: `make image` (slim) or `make image TARGET=browser`.
#
# Multi-stage: `build` makes a virtualenv with the package in it; `slim` and `browser` copy only that venv
# onto the base. BASE is a slim Debian Python image by default; any Debian bookworm image with python3 and
# python3-venv works (`--build-arg BASE=...`), e.g. a local one made by deploy/image-base.sh.
#
# pip may need the machine's CA certificates (a proxy that inspects TLS): pass them as a BuildKit secret,
# `--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt`; a secret is never written into a layer.
#
# Stopping: `whisperer run` finishes or hands back the Slack post in flight and exits within 10 s of SIGTERM;
# give it longer than the longest fetch anyway ([fetch] total_timeout, 60 s): compose.yaml sets
# stop_grace_period: 75s (`docker stop -t 75`, `docker run --stop-timeout 75`).
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
WORKDIR /src
RUN python3 -m venv /opt/whisperer
COPY pyproject.toml README.md ./
COPY bot bot
COPY watchers watchers
COPY handlers handlers
COPY storage storage
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    /opt/whisperer/bin/pip install --no-cache-dir --disable-pip-version-check --quiet . \
    && /opt/whisperer/bin/whisperer --version

FROM build AS build-browser
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    /opt/whisperer/bin/pip install --no-cache-dir --disable-pip-version-check --quiet ".[browser]"

# ── the runtime: no compiler, no pip cache, a fixed non-root user that owns /data ──
FROM ${BASE} AS runtime
# tini is PID 1: it forwards SIGTERM to the bot and reaps the browser's child processes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 whisperer \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin whisperer \
    && mkdir -p /data \
    && chown 10001:10001 /data \
    && chmod 0700 /data
ENV PATH=/opt/whisperer/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WHISPERER_CONFIG=/data/whisperer.toml
WORKDIR /data
EXPOSE 3000
# whisperer health: the database opens, its schema is current and `whisperer run` holds it (standard library).
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["whisperer", "health"]
ENTRYPOINT ["/usr/bin/tini", "--", "whisperer"]
CMD ["run"]

FROM runtime AS browser
# Debian's chromium; Playwright drives it through WHISPERER_BROWSER (no browser download at build time).
# libatomic1: the Node.js runtime inside Playwright's Python package needs it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation libatomic1 \
    && rm -rf /var/lib/apt/lists/*
ENV WHISPERER_BROWSER=/usr/bin/chromium
COPY --from=build-browser /opt/whisperer /opt/whisperer
VOLUME ["/data"]
USER 10001:10001

FROM runtime AS slim
COPY --from=build /opt/whisperer /opt/whisperer
VOLUME ["/data"]
USER 10001:10001
