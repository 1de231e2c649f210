module gorobench

go 1.19

require golang.org/x/sync v0.1.0

// Offline: the Debian package golang-golang-x-sync-dev (scripts/bootstrap.sh bench).
replace golang.org/x/sync => /usr/share/gocode/src/golang.org/x/sync
