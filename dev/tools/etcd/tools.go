//go:build tools

// Package tools pins the etcd commands that dev/tools.sh builds.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
