//go:build tools

// Package tools pins the VictoriaLogs commands that dev/tools.sh builds: the server and vlogscli.
package tools

import (
	_ "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
	_ "github.com/VictoriaMetrics/VictoriaLogs/app/vlogscli"
)
