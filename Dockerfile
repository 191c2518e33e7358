# One image recipe for every Lulea component; skaffold.yaml names the component per artifact:
#   docker build --build-arg PACKAGE=lulea-ca --build-arg MODULE=lulea.ca .
# PACKAGE: the uv workspace member to install; MODULE: what `python -m` runs; PORTS: what it
# serves; KAFKA_TOOLS=yes adds a JRE and Kafka's own admin tools (the Topic operator's client
# quotas: confluent-kafka has no client-quota admin API, docs/topics.md).
ARG KAFKA_TOOLS=no

FROM python:3.11-slim AS build
ARG PACKAGE
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
WORKDIR /src
COPY . .
RUN test -n "$PACKAGE" && uv sync --frozen --no-dev --package "$PACKAGE" --no-editable

# Kafka's libraries from Maven Central, the same artifacts dev/tools.sh fetches
FROM maven:3.9-eclipse-temurin-17 AS kafka-tools-yes
COPY dev/tools/kafka/pom.xml /kafka/pom.xml
RUN mvn -B -q -f /kafka/pom.xml org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory=/opt/kafka/libs

FROM python:3.11-slim AS kafka-tools-no
RUN mkdir -p /opt/kafka/libs

FROM kafka-tools-${KAFKA_TOOLS} AS kafka

FROM python:3.11-slim
ARG MODULE
ARG PORTS=8080
ARG KAFKA_TOOLS
RUN test -n "$MODULE" \
 && if [ "$KAFKA_TOOLS" = yes ]; then apt-get update \
      && apt-get install -y --no-install-recommends default-jre-headless \
      && rm -rf /var/lib/apt/lists/*; fi \
 && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin lulea \
 && printf '#!/bin/sh\nexec python -m %s "$@"\n' "$MODULE" > /usr/local/bin/lulea-component \
 && chmod 0755 /usr/local/bin/lulea-component
COPY --from=build /src/.venv /app/.venv
COPY --from=kafka /opt/kafka/libs /opt/kafka/libs
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 LULEA_TOPIC_KAFKA_LIBS=/opt/kafka/libs
USER 10001
EXPOSE $PORTS
ENTRYPOINT ["/usr/local/bin/lulea-component"]
