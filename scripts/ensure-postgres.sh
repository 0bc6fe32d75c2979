#!/usr/bin/env bash
# Makes a PostgreSQL server reachable for the conformance tests and exports
# SUANLI_TEST_DATABASE_URL. Uses a running server on 127.0.0.1:5432 if there is one;
# otherwise installs the Debian package `postgresql` (needs root) and starts a cluster.
# Sourced by scripts/test.sh.

pg_url="${SUANLI_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}

if ! pg_ready; then
  echo "== PostgreSQL not reachable on 127.0.0.1:5432; installing/starting it"
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
  fi
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  conf="/etc/postgresql/$version/main/pg_hba.conf"
  # Trust local loopback connections for the test user; the server only listens locally.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf" 2>/dev/null; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$conf" 2>/dev/null || true
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
    || pg_ctlcluster "$version" main restart
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi

if pg_ready; then
  export SUANLI_TEST_DATABASE_URL="$pg_url"
  echo "== PostgreSQL ready: tests use $SUANLI_TEST_DATABASE_URL"
else
  echo "PostgreSQL could not be started; the PostgreSQL conformance run cannot proceed" >&2
  exit 1
fi
