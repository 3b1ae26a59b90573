#!/usr/bin/env bash
# Backs up service databases with verified pg_dump runs and retention (webrana-jobs backup).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/backup.sh --dir=PATH [--service=NAME] [--schema-only | --data-only] [retention options]

  --dir=PATH          where dumps go: PATH/<service>/<service>-<UTC time>.dump (+ .json manifest)
  --service=NAME      one service (default: all four, one after the other; a failing one never
                      skips the others: each failure is reported and the exit status is 1 at the end)
  --schema-only       plain SQL of the schema; --data-only: plain SQL of the data
  --keep-daily=N --keep-weekly=N --keep-monthly=N   retention (default 7 / 4 / 12)
  --dry-run           dump, but only print what retention would delete
  -h, --help          this text

Database URLs come from AUTH_DATABASE_URL, CATALOG_DATABASE_URL, ORDER_DATABASE_URL and
BILLING_DATABASE_URL. Restore with scripts/restore.sh. More: webrana-jobs backup --help
USAGE
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for arg in "$@"; do
  case "$arg" in -h | --help) usage; exit 0 ;; esac
done
[[ -f "$root/jobs/dist/cli.js" ]] || { echo "backup.sh: webrana-jobs is not built; run 'npm ci' in the repository root first" >&2; exit 1; }

# webrana-jobs backs up all four when no --service is given (each failure reported, exit 1 at the end);
# WEBRANA_JOBS_PROGRAM makes its messages name this script.
WEBRANA_JOBS_PROGRAM=backup.sh exec node "$root/jobs/bin/webrana-jobs.js" backup "$@"
