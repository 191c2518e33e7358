# One image recipe for every Lulea component; skaffold.yaml names the component per artifact:
#   docker build --build-arg PACKAGE=lulea-operator-topic --build-arg MODULE=lulea.operators.topic .
# PACKAGE: the uv workspace member to install; MODULE: what `python -m` runs; PORTS: what it serves.
FROM python:3.11-slim AS build
ARG PACKAGE
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
WORKDIR /src
COPY . .
RUN test -n "$PACKAGE" && uv sync --frozen --no-dev --package "$PACKAGE" --no-editable

FROM python:3.11-slim
ARG MODULE
ARG PORTS=8080
RUN test -n "$MODULE" \
 && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin lulea \
 && printf '#!/bin/sh\nexec python -m %s "$@"\n' "$MODULE" > /usr/local/bin/lulea-component \
 && chmod 0755 /usr/local/bin/lulea-component
COPY --from=build /src/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
USER 10001
EXPOSE $PORTS
ENTRYPOINT ["/usr/local/bin/lulea-component"]
