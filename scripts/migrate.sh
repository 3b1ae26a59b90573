#!/usr/bin/env bash
# Applies Prisma migrations with the project's runner (webrana-jobs), as the spec describes.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/migrate.sh [--service=NAME] [--with-deps] [webrana-jobs migrate deploy options]

  (no --service)    migrate all four services in dependency order: auth-service and catalog-service
                    (in parallel), then order-service, then billing-service
  --service=NAME    migrate one service; refuses while a service it depends on has unapplied
                    migrations, naming them
  --with-deps       with --service: migrate the services it depends on first
  -h, --help        this text

Each service's database URL comes from its variable: AUTH_DATABASE_URL, CATALOG_DATABASE_URL,
ORDER_DATABASE_URL, BILLING_DATABASE_URL. More options (--lock-timeout, --lock-retries, ...):
webrana-jobs migrate --help

Exit codes: 0 done; 1 failed (the message says why); 2 bad command line; 75 temporary, nothing
recorded (a migration never got its lock after the retries; the message names the blocking session):
run it again later.
USAGE
}

service=""
with_deps=""
passthrough=()
for arg in "$@"; do
  case "$arg" in
    -h | --help) usage; exit 0 ;;
    --service=*) service="${arg#--service=}" ;;
    --with-deps) with_deps=1 ;;
    *) passthrough+=("$arg") ;;
  esac
done

jobs_cli="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/jobs/bin/webrana-jobs.js"
if [[ ! -f "${jobs_cli%/bin/webrana-jobs.js}/dist/cli.js" ]]; then
  echo "migrate.sh: webrana-jobs is not built; run 'npm ci' in the repository root first" >&2
  exit 1
fi

if [[ -z "$service" ]]; then
  [[ -z "$with_deps" ]] || { echo "migrate.sh: --with-deps needs --service=NAME" >&2; exit 2; }
  exec node "$jobs_cli" migrate deploy "${passthrough[@]}"
elif [[ -n "$with_deps" ]]; then
  exec node "$jobs_cli" migrate deploy --service="$service" --with-deps "${passthrough[@]}"
else
  exec node "$jobs_cli" migrate deploy --service="$service" --check-deps "${passthrough[@]}"
fi
