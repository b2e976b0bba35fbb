#!/usr/bin/env bash
# A base backup of the primary (make backup): pg_basebackup, compressed tar, with the WAL needed to make it
# consistent, into BACKUP_DIR/base-<UTC time>/. With the WAL archive (archive_command, deploy/postgresql/
# primary.conf) it restores the database to any moment after it (deploy/restore.sh). Run it daily from cron or a
# systemd timer as the postgres user; keep at least two, and the archive back to the oldest one kept.
#
#   BACKUP_DIR   where base backups go (default /var/backups/ctl)
#   PG_BIN       PostgreSQL's programs (default /usr/lib/postgresql/15/bin)
#   PGHOST, PGPORT, PGUSER, PGPASSWORD...: libpq's variables for the primary (a user with REPLICATION)
# Prints the backup's directory. Exit status non-zero on any failure (a partial backup is removed).
set -euo pipefail
BACKUP_DIR=${BACKUP_DIR:-/var/backups/ctl}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$BACKUP_DIR/base-$stamp"
mkdir -p "$BACKUP_DIR"
if [ -e "$target" ]; then echo "backup: $target exists" >&2; exit 1; fi
trap 'rm -rf "$target.partial"' ERR
"$PG_BIN/pg_basebackup" -D "$target.partial" --format=tar --gzip --wal-method=stream --checkpoint=fast \
  --label="ctl $stamp" --no-password
for part in base.tar.gz pg_wal.tar.gz backup_manifest; do
  test -s "$target.partial/$part" || { echo "backup: $part missing from $target.partial" >&2; exit 1; }
done
mv "$target.partial" "$target"
echo "$target"
