//go:build tools

// Package tools pins Kueue's manager for bench/placement (dev/tools.sh kueue); it is not part
// of the platform and not built by CI's default tool build.
package tools

import _ "sigs.k8s.io/kueue/cmd/kueue"
