#!/usr/bin/env bash
# make chart-check: lint the chart, render it, and have a real API server validate the
# rendering (kubectl apply --dry-run=server). Uses the stack in LULEA_STATE_DIR (default .lulea).
set -euo pipefail
cd "$(dirname "$0")/.."
STATE_DIR=${LULEA_STATE_DIR:-$PWD/.lulea}
HELM=$(bash dev/tools.sh --print | awk '$1=="helm"{print $2}')
KUBECTL=${KUBECTL:-$PWD/.venv/bin/kubectl}
[ -f "$STATE_DIR/kubeconfig" ] || { echo "chart-check: no stack at $STATE_DIR; run make up" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$HELM" lint charts/lulea --strict
"$HELM" template lulea charts/lulea --include-crds --namespace lulea-system > "$out/rendered.yaml"
echo "chart-check: rendered $(grep -c '^kind:' "$out/rendered.yaml") objects"
"$KUBECTL" --kubeconfig "$STATE_DIR/kubeconfig" apply --dry-run=server --server-side \
  --force-conflicts -f "$out/rendered.yaml" >/dev/null
echo "chart-check: the API server accepts every rendered object"
