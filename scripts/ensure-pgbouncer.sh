#!/usr/bin/env bash
# Makes sure PgBouncer (Debian's package) is installed; idempotent. The fleet benchmark
# starts its own PgBouncer with its own config in a temporary folder (bench/fleet/cluster.ts),
# so nothing here configures or starts the system service.
set -euo pipefail
if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-pgbouncer: pgbouncer is missing and apt-get is not available; install PgBouncer >= 1.18" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "ensure-pgbouncer: installing pgbouncer from Debian's packages" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pgbouncer >/dev/null
# Debian's package starts a system-wide service on 6432 where systemd runs; the benchmark
# does not use it (it runs its own on a free port).
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]
