#!/usr/bin/env bash
# make chart-check: lint the chart, render it, and have a real API server validate the
# rendering (kubectl apply --dry-run=server), as a platform team member who may install the
# chart but is not a cluster admin (the stack's `installer`, credentials.installer_rbac):
# RBAC then checks every role the chart grants against what the installer may grant.
# Uses the stack in LULEA_STATE_DIR (default .lulea).
set -euo pipefail
cd "$(dirname "$0")/.."
STATE_DIR=${LULEA_STATE_DIR:-$PWD/.lulea}
HELM=$(bash dev/tools.sh --print | awk '$1=="helm"{print $2}')
KUBECTL=${KUBECTL:-$PWD/.venv/bin/kubectl}
KUBECONFIG_INSTALLER=$STATE_DIR/kubeconfig-installer
[ -f "$KUBECONFIG_INSTALLER" ] || { echo "chart-check: no stack at $STATE_DIR; run make up" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$HELM" lint charts/lulea --strict
"$HELM" template lulea charts/lulea --include-crds --namespace lulea-system \
  --set-file ca.trustBundle="$STATE_DIR/pki/lulea-ca/root.crt" > "$out/rendered.yaml"
echo "chart-check: rendered $(grep -c '^kind:' "$out/rendered.yaml") objects"
"$KUBECTL" --kubeconfig "$KUBECONFIG_INSTALLER" apply --dry-run=server --server-side \
  --force-conflicts -f "$out/rendered.yaml" >/dev/null
echo "chart-check: the API server accepts every rendered object from a non-admin installer"
