#!/usr/bin/env bash
# Builds or fetches every tool the local platform runs, once, into a cache outside the checkout,
# keyed by version: ~/.cache/lulea/bin/<tool>-<version>. A tool already there is not rebuilt.
#
#   dev/tools.sh            build everything that is missing
#   dev/tools.sh k8s etcd   build only these (k8s etcd kwok ferretdb helm kafka kafka-revocation victorialogs hdfs)
#   dev/tools.sh hdfs       the Apache HDFS peer of bench/storage: optional, never built by default
#   dev/tools.sh --print    print "<tool> <path>" for every tool (used by the stack)
#   dev/tools.sh --path T   print where tool T lives (also optional tools: kueue, for bench/placement)
#
# Go modules come through the module proxy with GOTOOLCHAIN=local. The checksum database is not
# reachable from our machines, so GOSUMDB=off and each wrapper module's committed go.sum is the
# verification: -mod=readonly refuses any module whose hash differs from the one we reviewed
# (docs/local-stack.md, "How modules are verified").
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"
CACHE=${LULEA_CACHE:-$HOME/.cache/lulea}
BIN=$CACHE/bin
LOGS=$CACHE/logs
mkdir -p "$BIN" "$LOGS"

export GOTOOLCHAIN=local GOSUMDB=off CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath -buildvcs=false"
export GOPROXY=${GOPROXY:-https://proxy.golang.org}

K8S_MINOR=${K8S_VERSION#1.}; K8S_MINOR=${K8S_MINOR%%.*}

path_of() {
  case $1 in
    kube-apiserver|kube-controller-manager|kube-scheduler) echo "$BIN/$1-v$K8S_VERSION" ;;
    etcd) echo "$BIN/etcd-v$ETCD_VERSION" ;;
    kwok) echo "$BIN/kwok-v$KWOK_VERSION" ;;
    ferretdb) echo "$BIN/ferretdb-v$FERRETDB_VERSION-$(sources_hash "$HERE/tools/ferretdb")" ;;
    helm) echo "$BIN/helm-v$HELM_VERSION" ;;
    kafka) echo "$CACHE/kafka-$KAFKA_VERSION/libs" ;;
    victoria-logs|vlogscli) echo "$CACHE/victorialogs-$VICTORIALOGS_VERSION/$1" ;;
    kafka-revocation) echo "$CACHE/kafka-revocation-$(revocation_version)-$(revocation_sources_hash)/lulea-kafka-revocation.jar" ;;
    hdfs) echo "$CACHE/hdfs-$HDFS_VERSION/peer-$(hdfs_sources_hash).jar" ;;
    kueue) echo "$CACHE/kueue-$KUEUE_VERSION/kueue-manager" ;;
    *) echo "unknown tool $1" >&2; return 1 ;;
  esac
}

# sources_hash <dir>: 8 hex digits over a wrapper's files, so an edit to our own main.go
# rebuilds the tool without a version bump.
sources_hash() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-8)
}

# Our own broker plug-in (dev/tools/kafka-revocation) is keyed by its version and a hash of its sources,
# so any edit to it rebuilds it without a version bump.
REVOCATION=$HERE/tools/kafka-revocation
revocation_version() {
  sed -n '/<artifactId>lulea-kafka-revocation<\/artifactId>/{n;s:.*<version>\(.*\)</version>.*:\1:p;q;}' "$REVOCATION/pom.xml"
}
revocation_sources_hash() {
  (cd "$REVOCATION" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-8)
}
HDFS=$HERE/tools/hdfs
hdfs_sources_hash() {
  (cd "$HDFS" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-8)
}

# go_build <wrapper dir> <package> <output> [ldflags]: builds into a temp name, then renames,
# so an interrupted build never leaves a half-written binary that looks cached.
go_build() {
  local dir=$1 pkg=$2 out=$3 ld=${4:--s -w}
  [ -x "$out" ] && return 0
  local log="$LOGS/build-$(basename "$out").log"
  echo "tools: building $(basename "$out") (log: $log)"
  mkdir -p "$(dirname "$out")"
  if ! (cd "$HERE/tools/$dir" && go build -ldflags "$ld" -o "$out.tmp" "$pkg") >"$log" 2>&1; then
    rm -f "$out.tmp"
    echo "tools: FAILED to build $(basename "$out"); see $log" >&2
    tail -n 20 "$log" >&2
    return 1
  fi
  mv "$out.tmp" "$out"
}

build_k8s() {
  local v=k8s.io/component-base/version
  local ld="-s -w -X $v.gitVersion=v$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$K8S_MINOR"
  ld="$ld -X $v.gitTreeState=clean -X $v.buildDate=$K8S_BUILD_DATE"
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    go_build k8s "k8s.io/kubernetes/cmd/$c" "$(path_of "$c")" "$ld"
  done
}
build_etcd() {
  go_build etcd go.etcd.io/etcd/server/v3 "$(path_of etcd)"
}
build_kwok() {
  go_build kwok sigs.k8s.io/kwok/cmd/kwok "$(path_of kwok)"
}
build_ferretdb() {
  # Our own small main (dev/tools/ferretdb/main.go) embeds FerretDB's public package: its own
  # cmd/ferretdb panics at start for want of a version.txt the published module lacks (FerretDB#2982).
  go_build ferretdb . "$(path_of ferretdb)"
}
build_helm() {
  # Without these, `helm lint/template` assume Kubernetes v1.20.
  local v=helm.sh/helm/v3/pkg/chartutil
  go_build helm helm.sh/helm/v3/cmd/helm "$(path_of helm)" \
    "-s -w -X $v.k8sVersionMajor=1 -X $v.k8sVersionMinor=$K8S_MINOR -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
}
build_victorialogs() {
  # Both commands from the one module, so vlogscli speaks exactly the server's query API. cgo on:
  # its zstd binding (valyala/gozstd) is the fast path; without a C compiler it falls back to pure Go.
  local cgo=0; command -v cc >/dev/null && cgo=1
  CGO_ENABLED=$cgo go_build victorialogs github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs "$(path_of victoria-logs)"
  CGO_ENABLED=$cgo go_build victorialogs github.com/VictoriaMetrics/VictoriaLogs/app/vlogscli "$(path_of vlogscli)"
}
build_kafka() {
  local libs; libs=$(path_of kafka)
  [ -f "$libs/.complete" ] && return 0
  local log="$LOGS/kafka-$KAFKA_VERSION.log"
  echo "tools: fetching Kafka $KAFKA_VERSION from Maven Central (log: $log)"
  rm -rf "$libs"
  if ! mvn -B -q -f "$HERE/tools/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$libs" >"$log" 2>&1; then
    echo "tools: FAILED to fetch Kafka; see $log" >&2; tail -n 20 "$log" >&2; return 1
  fi
  touch "$libs/.complete"
}

build_kafka_revocation() {
  # mvn package runs the plug-in's unit tests (a few seconds); it builds outside the checkout so that
  # two builds never share a target/ directory, and the jar is renamed into place only once complete.
  local jar; jar=$(path_of kafka-revocation)
  [ -f "$jar" ] && return 0
  local name; name=$(basename "$(dirname "$jar")")
  local log="$LOGS/$name.log" work
  work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
  echo "tools: building $name (log: $log)"
  if ! mvn -B -q -f "$REVOCATION/pom.xml" -Dlulea.build.dir="$work" package >"$log" 2>&1; then
    echo "tools: FAILED to build $name; see $log and $work/surefire-reports" >&2; tail -n 20 "$log" >&2; return 1
  fi
  mkdir -p "$(dirname "$jar")"
  cp "$work/lulea-kafka-revocation.jar" "$jar.tmp"
  mv "$jar.tmp" "$jar"
  rm -rf "$work"
}

build_hdfs() {
  # The bench's HDFS peer (dev/tools/hdfs): Hadoop's jars in hdfs-<version>/libs (keyed by the
  # version, fetched once), our small main in peer-<sha8>.jar beside them (keyed by its sources,
  # so an edit rebuilds only the jar). Built outside the checkout; renamed into place when complete.
  local jar; jar=$(path_of hdfs)
  local dir; dir=$(dirname "$jar")
  [ -f "$jar" ] && [ -f "$dir/libs/.complete" ] && return 0
  local log="$LOGS/hdfs-$HDFS_VERSION.log" work
  work=$(mktemp -d "${TMPDIR:-/tmp}/hdfs-$HDFS_VERSION.XXXXXX")
  echo "tools: building the HDFS $HDFS_VERSION peer from Maven Central (log: $log)"
  if ! mvn -B -q -f "$HDFS/pom.xml" -Dhadoop.version="$HDFS_VERSION" -Dlulea.build.dir="$work" package >"$log" 2>&1; then
    echo "tools: FAILED to build the HDFS peer; see $log" >&2; tail -n 20 "$log" >&2; rm -rf "$work"; return 1
  fi
  mkdir -p "$dir"
  if [ ! -f "$dir/libs/.complete" ]; then
    rm -rf "$dir/libs" "$dir/libs.tmp"
    mv "$work/libs" "$dir/libs.tmp" && touch "$dir/libs.tmp/.complete" && mv "$dir/libs.tmp" "$dir/libs"
  fi
  cp "$work/lulea-hdfs-peer.jar" "$jar.tmp"
  mv "$jar.tmp" "$jar"
  rm -rf "$work"
}

build_kueue() {
  # Kueue's manager, for bench/placement's baseline only: never in the default build (ALL) nor in
  # --print; `dev/tools.sh kueue` builds it, `dev/tools.sh --path kueue` says where.
  local out; out=$(path_of kueue)
  mkdir -p "$(dirname "$out")"
  go_build kueue sigs.k8s.io/kueue/cmd/kueue "$out"
}

ALL=(etcd kwok ferretdb helm kafka kafka-revocation k8s victorialogs)
if [ "${1:-}" = "--path" ]; then
  path_of "$2"
  exit 0
fi
if [ "${1:-}" = "--print" ]; then
  for t in kube-apiserver kube-controller-manager kube-scheduler etcd kwok ferretdb helm kafka kafka-revocation victoria-logs vlogscli hdfs; do
    echo "$t $(path_of "$t")"
  done
  exit 0
fi
[ $# -gt 0 ] && ALL=("$@")
command -v go >/dev/null || { echo "tools: go is not installed (need go >= 1.26)" >&2; exit 1; }
for t in "${ALL[@]}"; do
  case $t in
    kafka|kafka-revocation|hdfs) command -v mvn >/dev/null || { echo "tools: mvn is not installed (Maven, for Kafka)" >&2; exit 1; } ;;
  esac
  "build_${t//-/_}"
done
echo "tools: ready in $BIN"
