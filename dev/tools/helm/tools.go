//go:build tools

// Package tools pins the helm commands that dev/tools.sh builds.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
