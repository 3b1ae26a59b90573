#!/usr/bin/env bash
# Restores a service database from a dump made by scripts/backup.sh (webrana-jobs restore).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/restore.sh --service=NAME (--file=PATH | --latest --dir=PATH) [--jobs=N] [--lock-timeout=DUR] [--force]

  --service=NAME      the database to restore into (its URL from AUTH_DATABASE_URL, ...)
  --file=PATH         a .dump (pg_restore --clean --if-exists) or .sql file (psql, ON_ERROR_STOP)
  --latest --dir=PATH the newest completed full dump under PATH/<service>/
  --jobs=N            parallel pg_restore jobs (default 1: one transaction); must fit free connections
  --lock-timeout=DUR  longest wait for each lock (default 30s); the error names the blocking session
  --force             restore a dump taken at an older migration than the database's, or one that
                      looks like another service's (manifest, ledger in the dump, target's ledger)
  -h, --help          this text

The dump is checked against its manifest (sha256) and read before the database is touched.
More: webrana-jobs restore --help
USAGE
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for arg in "$@"; do
  case "$arg" in -h | --help) usage; exit 0 ;; esac
done
[[ -f "$root/jobs/dist/cli.js" ]] || { echo "restore.sh: webrana-jobs is not built; run 'npm ci' in the repository root first" >&2; exit 1; }
exec node "$root/jobs/bin/webrana-jobs.js" restore "$@"
