//go:build tools

// Package tools pins the kwok commands that dev/tools.sh builds.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
