#!/usr/bin/env bash
# Point-in-time restore (make restore TARGET_TIME=...): a new data directory from the newest base backup taken
# before TARGET_TIME (deploy/backup.sh), replayed from the WAL archive up to TARGET_TIME, then promoted and left
# running on RESTORE_PORT. The live cluster is not touched: check the restored one (verify_ledger with
# DATABASE_URL on RESTORE_PORT), then stop the old one and move the new one in, or copy what was lost out of it.
#
#   TARGET_TIME  e.g. '2026-12-06 18:30:00+00' (any timestamp PostgreSQL reads; give the zone)
#   RESTORE_DIR  the new data directory; must not exist (default /var/lib/postgresql/15/restore-<UTC time>)
#   RESTORE_PORT port for the restored cluster (default 5499)
#   BACKUP_DIR   base backups (default /var/backups/ctl)
#   ARCHIVE_DIR  the WAL archive (default /var/lib/postgresql/wal-archive)
#   PG_BIN       PostgreSQL's programs (default /usr/lib/postgresql/15/bin)
# Run as the postgres user. Exit status non-zero when no backup fits, or recovery fails or stops short.
set -euo pipefail
: "${TARGET_TIME:?give TARGET_TIME, e.g. make restore TARGET_TIME='2026-12-06 18:30:00+00'}"
BACKUP_DIR=${BACKUP_DIR:-/var/backups/ctl}
ARCHIVE_DIR=${ARCHIVE_DIR:-/var/lib/postgresql/wal-archive}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
RESTORE_PORT=${RESTORE_PORT:-5499}
RESTORE_DIR=${RESTORE_DIR:-/var/lib/postgresql/15/restore-$(date -u +%Y%m%dT%H%M%SZ)}

target_epoch=$(date -u -d "$TARGET_TIME" +%s) || { echo "restore: TARGET_TIME=$TARGET_TIME is not a time" >&2; exit 2; }
chosen=""
for dir in $(ls -d "$BACKUP_DIR"/base-* 2>/dev/null | sort); do
  stamp=${dir##*/base-}
  iso="${stamp:0:4}-${stamp:4:2}-${stamp:6:2} ${stamp:9:2}:${stamp:11:2}:${stamp:13:2}Z"
  if [ "$(date -u -d "$iso" +%s)" -lt "$target_epoch" ]; then chosen=$dir; fi
done
if [ -z "$chosen" ]; then echo "restore: no base backup in $BACKUP_DIR before $TARGET_TIME" >&2; exit 1; fi
if [ -e "$RESTORE_DIR" ]; then echo "restore: $RESTORE_DIR exists" >&2; exit 1; fi
echo "restore: $chosen + $ARCHIVE_DIR -> $RESTORE_DIR, up to $TARGET_TIME, port $RESTORE_PORT"

mkdir -p "$RESTORE_DIR" && chmod 700 "$RESTORE_DIR"
tar -xzf "$chosen/base.tar.gz" -C "$RESTORE_DIR"
mkdir -p "$RESTORE_DIR/pg_wal"
tar -xzf "$chosen/pg_wal.tar.gz" -C "$RESTORE_DIR/pg_wal"
rm -f "$RESTORE_DIR/standby.signal" "$RESTORE_DIR/postmaster.pid"
# postgresql.auto.conf is read last: these win over what the backup's postgresql.conf says. A restored cluster
# neither waits for a standby nor archives into the live cluster's archive.
cat >> "$RESTORE_DIR/postgresql.auto.conf" <<CONF
port = $RESTORE_PORT
restore_command = 'cp $ARCHIVE_DIR/%f %p'
recovery_target_time = '$TARGET_TIME'
recovery_target_action = 'promote'
synchronous_standby_names = ''
archive_mode = off
primary_conninfo = ''
primary_slot_name = ''
CONF
touch "$RESTORE_DIR/recovery.signal"

"$PG_BIN/pg_ctl" -D "$RESTORE_DIR" -l "$RESTORE_DIR/restore.log" -w -t 600 start >/dev/null
for _ in $(seq 1 600); do
  if [ ! -e "$RESTORE_DIR/recovery.signal" ]; then break; fi
  if ! "$PG_BIN/pg_ctl" -D "$RESTORE_DIR" status >/dev/null 2>&1; then
    echo "restore: recovery failed; the end of $RESTORE_DIR/restore.log:" >&2
    tail -n 20 "$RESTORE_DIR/restore.log" >&2
    exit 1
  fi
  sleep 1
done
if [ -e "$RESTORE_DIR/recovery.signal" ]; then echo "restore: still recovering after 10 minutes" >&2; exit 1; fi
grep -E "recovery stopping|last completed transaction|selected new timeline" "$RESTORE_DIR/restore.log" || true
echo "restore: done; running on port $RESTORE_PORT ($RESTORE_DIR)"
