module gorobench

go 1.19

require golang.org/x/sync v0.1.0

// Offline builds (bench/run.sh sets GOPROXY=off): x/sync comes from Debian's
// golang-golang-x-sync-dev (scripts/bootstrap.sh bench installs it).
replace golang.org/x/sync => /usr/share/gocode/src/golang.org/x/sync
