module gorobench

go 1.19

require (
	golang.org/x/sync v0.1.0
	golang.org/x/time v0.3.0
)

// Offline builds (bench/run.sh sets GOPROXY=off): x/sync and x/time come from
// Debian's golang-golang-x-sync-dev and golang-golang-x-time-dev
// (scripts/bootstrap.sh bench installs them).
replace golang.org/x/sync => /usr/share/gocode/src/golang.org/x/sync

replace golang.org/x/time => /usr/share/gocode/src/golang.org/x/time
