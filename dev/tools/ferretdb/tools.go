//go:build tools

// Package tools pins the ferretdb commands that dev/tools.sh builds.
package tools

import (
	_ "github.com/FerretDB/FerretDB/cmd/ferretdb"
)
