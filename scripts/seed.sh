#!/usr/bin/env bash
# Seeds the service databases with the project's idempotent seeds (webrana-jobs), as the spec describes.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/seed.sh [--service=NAME]

  (no --service)    seed every service that has a seed, in dependency order
                    (auth-service, then catalog-service; order-service and billing-service have none)
  --service=NAME    seed one service
  -h, --help        this text

Database URLs come from AUTH_DATABASE_URL, CATALOG_DATABASE_URL, ... Passwords of the seeded users
come from SUPER_ADMIN_PASSWORD, ADMIN_PASSWORD and CUSTOMER_PASSWORD; setting one and seeding again
rotates that password. More: webrana-jobs seed --help
USAGE
}

args=()
for arg in "$@"; do
  case "$arg" in
    -h | --help) usage; exit 0 ;;
    --service=*) args+=("$arg") ;;
    *) echo "seed.sh: unknown argument \"$arg\" (see --help)" >&2; exit 2 ;;
  esac
done

jobs_cli="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/jobs/bin/webrana-jobs.js"
if [[ ! -f "${jobs_cli%/bin/webrana-jobs.js}/dist/cli.js" ]]; then
  echo "seed.sh: webrana-jobs is not built; run 'npm ci' in the repository root first" >&2
  exit 1
fi
exec node "$jobs_cli" seed "${args[@]}"
