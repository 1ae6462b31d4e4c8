#!/usr/bin/env bash
# bench/compare-mariadb.sh - sysbench Borealis against MariaDB 10.11 on the same machine, same run.
#
# Standalone: installs Debian's mariadb-server, mariadb-client and sysbench if missing (needs root:
# apt-get, and mariadbd runs as OS user mysql), starts MariaDB on a free 127.0.0.1 port with
# innodb_flush_log_at_trx_commit=1, builds (release) and starts Borealis on another free port,
# then for each test prepares both servers, runs sysbench against one then the other, and cleans up.
# Prints a markdown table (tps, p95 latency, peak RSS, ratios Borealis/MariaDB) and writes it to
# bench/results/<date>.md. Both servers are stopped at the end, also on failure or Ctrl-C.
#
# Environment (defaults in brackets):
#   TIME [30]          seconds per sysbench run          RUNS [1]     runs per test (median reported)
#   THREADS [8]        sysbench threads                  TABLES [4]   TABLE_SIZE [10000]
#   TESTS ["oltp_point_select oltp_read_write oltp_update_index oltp_insert"]
#   SKIP_BOREALIS [0]  1 = measure MariaDB only (no build, Borealis columns are "-")
#   BOREALIS_ARGS []   extra flags for `borealis up` (its default already fsyncs every COMMIT)
#   BOREALIS_BIN [target/release/borealis]   SKIP_BUILD [0]  1 = use BOREALIS_BIN as it is
#   BASE [mktemp -d]   scratch directory for data and logs (kept; its path is printed)
#   MARIADB_BUFFER_POOL [1G]
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

TIME=${TIME:-30}
RUNS=${RUNS:-1}
THREADS=${THREADS:-8}
TABLES=${TABLES:-4}
TABLE_SIZE=${TABLE_SIZE:-10000}
TESTS=${TESTS:-"oltp_point_select oltp_read_write oltp_update_index oltp_insert"}
SKIP_BOREALIS=${SKIP_BOREALIS:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
BOREALIS_ARGS=${BOREALIS_ARGS:-}
BOREALIS_BIN=${BOREALIS_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/release/borealis}
MARIADB_BUFFER_POOL=${MARIADB_BUFFER_POOL:-1G}
BASE=${BASE:-$(mktemp -d /tmp/borealis-bench.XXXXXX)}
RESULTS_DIR=$REPO/bench/results
LOGS=$BASE/logs
mkdir -p "$LOGS" "$RESULTS_DIR"
chmod 755 "$BASE"   # mktemp makes it 0700; mariadbd runs as OS user mysql and must enter it

# Bounds: a server that hangs must not hang the script.
RUN_TIMEOUT=$((TIME + 120))   # one sysbench run
PREPARE_TIMEOUT=1800          # one sysbench prepare or cleanup (40k rows take seconds normally)
START_TIMEOUT=180             # a server accepting its first connection
STOP_TIMEOUT=120              # a server exiting after shutdown/SIGTERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ----------------------------------------------------------------------------- install
install_deps() {
  local missing=0
  for tool in /usr/sbin/mariadbd mariadb-install-db mariadb mariadb-admin sysbench python3 pgrep; do
    command -v "$tool" >/dev/null || missing=1
  done
  [ "$missing" = 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "mariadb-server/sysbench missing and not root: apt-get install mariadb-server mariadb-client sysbench"
  # wait (never kill) while another apt/dpkg runs: at most 120 x 5 s
  for _ in $(seq 1 120); do
    if pgrep -x apt-get >/dev/null 2>&1 || pgrep -x dpkg >/dev/null 2>&1; then sleep 5; else break; fi
  done
  log "installing mariadb-server mariadb-client sysbench"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    mariadb-server mariadb-client sysbench procps python3
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ----------------------------------------------------------------------------- MariaDB
MDIR=$BASE/mariadb
MPORT=""
MPID=""

start_mariadb() {
  [ "$(id -u)" = 0 ] || die "MariaDB part needs root (mariadbd runs as OS user mysql)"
  MPORT=$(free_port)
  rm -rf "$MDIR"; mkdir -p "$MDIR/data"; chown -R mysql:mysql "$MDIR"
  cat > "$MDIR/my.cnf" <<EOF
[mariadbd]
user=mysql
datadir=$MDIR/data
socket=$MDIR/mysqld.sock
pid-file=$MDIR/mariadbd.pid
log-error=$MDIR/error.log
bind-address=127.0.0.1
port=$MPORT
skip-name-resolve
max_connections=300
max_allowed_packet=64M
innodb_buffer_pool_size=$MARIADB_BUFFER_POOL
innodb_log_file_size=256M
innodb_flush_log_at_trx_commit=1
sync_binlog=0
EOF
  mariadb-install-db --no-defaults --user=mysql --datadir="$MDIR/data" \
    --auth-root-authentication-method=socket --skip-test-db > "$MDIR/install-db.log" 2>&1 \
    || { tail -30 "$MDIR/install-db.log" >&2; die "mariadb-install-db failed"; }
  log "starting MariaDB on 127.0.0.1:$MPORT"
  setsid /usr/sbin/mariadbd --defaults-file="$MDIR/my.cnf" >> "$MDIR/stdout.log" 2>&1 < /dev/null &
  MPID=$!
  local i
  for i in $(seq 1 "$START_TIMEOUT"); do
    mariadb-admin -uroot -S "$MDIR/mysqld.sock" ping > /dev/null 2>&1 && break
    kill -0 "$MPID" 2>/dev/null || { tail -30 "$MDIR/error.log" >&2; die "mariadbd died at start"; }
    [ "$i" = "$START_TIMEOUT" ] && die "mariadbd not ready within $START_TIMEOUT s"
    sleep 1
  done
  [ -s "$MDIR/mariadbd.pid" ] && MPID=$(cat "$MDIR/mariadbd.pid")
  mariadb -uroot -S "$MDIR/mysqld.sock" -e "CREATE DATABASE IF NOT EXISTS sbtest;
    CREATE USER IF NOT EXISTS 'sbtest'@'%' IDENTIFIED BY 'sbtest';
    GRANT ALL ON sbtest.* TO 'sbtest'@'%';"
  MARIADB_VERSION=$(mariadb -uroot -S "$MDIR/mysqld.sock" -N -B -e "SELECT VERSION()")
}

stop_mariadb() {
  [ -n "$MPID" ] || return 0
  kill -0 "$MPID" 2>/dev/null || { MPID=""; return 0; }
  log "stopping MariaDB (pid $MPID)"
  timeout 60 mariadb-admin -uroot -S "$MDIR/mysqld.sock" shutdown 2>/dev/null || kill -TERM "$MPID" 2>/dev/null || true
  wait_exit "$MPID"
  MPID=""
}

# ----------------------------------------------------------------------------- Borealis
BDIR=$BASE/borealis
BPORT=""
BPID=""

start_borealis() {
  if [ "$SKIP_BUILD" != 1 ]; then
    log "cargo build --release -p borealis"
    cargo build --release -p borealis
  fi
  [ -x "$BOREALIS_BIN" ] || die "no Borealis binary at $BOREALIS_BIN"
  BPORT=$(free_port)
  rm -rf "$BDIR"; mkdir -p "$BDIR/data"
  log "starting Borealis on 127.0.0.1:$BPORT $BOREALIS_ARGS"
  # shellcheck disable=SC2086 # BOREALIS_ARGS is a list of flags
  "$BOREALIS_BIN" up --embedded --data "$BDIR/data" --port "$BPORT" $BOREALIS_ARGS > "$BDIR/borealis.log" 2>&1 < /dev/null &
  BPID=$!
  local i
  for i in $(seq 1 "$START_TIMEOUT"); do
    timeout 5 mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$BPORT" -uroot -e "SELECT 1" > /dev/null 2>&1 && break
    kill -0 "$BPID" 2>/dev/null || { tail -30 "$BDIR/borealis.log" >&2; die "borealis died at start"; }
    [ "$i" = "$START_TIMEOUT" ] && die "borealis not ready within $START_TIMEOUT s"
    sleep 1
  done
  timeout 60 mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$BPORT" -uroot -e "CREATE DATABASE IF NOT EXISTS sbtest"
  BOREALIS_VERSION=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  # A given binary need not be the checkout's build: name it too.
  [ "$SKIP_BUILD" = 1 ] && BOREALIS_VERSION+=" checkout, binary $BOREALIS_BIN of $(date -u -r "$BOREALIS_BIN" '+%F %H:%M UTC')"
}

stop_borealis() {
  [ -n "$BPID" ] || return 0
  kill -0 "$BPID" 2>/dev/null || { BPID=""; return 0; }
  log "stopping Borealis (pid $BPID)"
  kill -TERM "$BPID" 2>/dev/null || true
  wait_exit "$BPID" || { log "Borealis ignored SIGTERM: SIGKILL"; kill -KILL "$BPID" 2>/dev/null || true; }
  BPID=""
}

wait_exit() { # $1=pid: wait up to STOP_TIMEOUT s for it to exit
  local _
  for _ in $(seq 1 "$STOP_TIMEOUT"); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 1
  done
  log "pid $1 still running after $STOP_TIMEOUT s"
  return 1
}

cleanup_servers() { set +e; stop_borealis; stop_mariadb; }
trap cleanup_servers EXIT
trap 'exit 130' INT TERM

# ----------------------------------------------------------------------------- sysbench
sb() { # $1=target(mariadb|borealis) $2=test $3=command $4=timeout [extra...] -> output on stdout
  local target=$1 test=$2 cmd=$3 limit=$4 port user pass
  shift 4
  if [ "$target" = mariadb ]; then port=$MPORT user=sbtest pass=sbtest; else port=$BPORT user=root pass=""; fi
  timeout -k 10 "$limit" sysbench "$test" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" \
    --mysql-user="$user" --mysql-password="$pass" --mysql-db=sbtest \
    --tables="$TABLES" --table-size="$TABLE_SIZE" --percentile=95 \
    --mysql-ignore-errors=1213,1205 "$@" "$cmd"
}

peak_rss_mb() { # $1=pid -> VmHWM in MB, or "-"
  local kb
  kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
  if [ -n "$kb" ]; then awk -v kb="$kb" 'BEGIN { printf "%.0f", kb / 1024 }'; else echo "-"; fi
}

median() { # numbers on stdin (non-numbers ignored) -> median, or "-" if none
  { grep -E '^[0-9.]+$' || true; } | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "-"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { # $1/$2 with 2 decimals, "-" when either is not a number
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}

# measure $target $test -> sets TPS P95 (medians over RUNS) and ERRS (ignored errors/s, median)
measure() {
  local target=$1 test=$2 run out tps_list="" p95_list="" err_list=""
  for run in $(seq 1 "$RUNS"); do
    out=$LOGS/$target-$test-run$run.txt
    log "$target: $test run $run/$RUNS ($TIME s, $THREADS threads)"
    if sb "$target" "$test" run "$RUN_TIMEOUT" --threads="$THREADS" --time="$TIME" --events=0 > "$out" 2>&1; then
      tps_list+="$(awk '/transactions:/ { gsub(/[()]/, ""); print $3 }' "$out")"$'\n'
      p95_list+="$(awk '/95th percentile:/ { print $3 }' "$out")"$'\n'
      err_list+="$(awk '/ignored errors:/ { gsub(/[()]/, ""); print $4 }' "$out")"$'\n'
    else
      log "$target: $test run $run failed or timed out (exit $?); see $out"
      tail -5 "$out" >&2 || true
    fi
  done
  TPS=$(printf '%s' "$tps_list" | median)
  P95=$(printf '%s' "$p95_list" | median)
  ERRS=$(printf '%s' "$err_list" | median)
}

prepare_target() { # $1=target $2=test -> 0 if prepared
  sb "$1" "$2" cleanup "$PREPARE_TIMEOUT" > /dev/null 2>&1 || true
  log "$1: prepare $2 ($TABLES x $TABLE_SIZE rows)"
  if ! sb "$1" "$2" prepare "$PREPARE_TIMEOUT" --threads="$TABLES" > "$LOGS/$1-$2-prepare.txt" 2>&1; then
    log "$1: prepare $2 failed; see $LOGS/$1-$2-prepare.txt"
    tail -5 "$LOGS/$1-$2-prepare.txt" >&2 || true
    return 1
  fi
}

# ----------------------------------------------------------------------------- main
install_deps
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
MARIADB_VERSION=""
BOREALIS_VERSION="-"
start_mariadb
[ "$SKIP_BOREALIS" = 1 ] || start_borealis

ROWS=()
for test in $TESTS; do
  m_tps="-" m_p95="-" b_tps="-" b_p95="-" b_err="-"
  if prepare_target mariadb "$test"; then measure mariadb "$test"; m_tps=$TPS m_p95=$P95; fi
  sb mariadb "$test" cleanup "$PREPARE_TIMEOUT" > /dev/null 2>&1 || true
  m_rss=$(peak_rss_mb "$MPID")
  b_rss="-"
  if [ "$SKIP_BOREALIS" != 1 ]; then
    if kill -0 "$BPID" 2>/dev/null && prepare_target borealis "$test"; then
      measure borealis "$test"; b_tps=$TPS b_p95=$P95 b_err=$ERRS
    fi
    sb borealis "$test" cleanup "$PREPARE_TIMEOUT" > /dev/null 2>&1 || true
    b_rss=$(peak_rss_mb "$BPID")
  fi
  ROWS+=("| $test | $m_tps | $b_tps | $(ratio "$b_tps" "$m_tps") | $m_p95 | $b_p95 | $(ratio "$b_p95" "$m_p95") | $m_rss | $b_rss | $(ratio "$b_rss" "$m_rss") | $b_err |")
done

STAMP=$(date -u +%Y-%m-%d_%H%M%S)
REPORT=$RESULTS_DIR/$STAMP.md
CPU=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
{
  echo "# Borealis vs MariaDB, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(nproc) cores ($CPU), $MEM; $(uname -sr)"
  echo "- sysbench: $(sysbench --version); MariaDB: $MARIADB_VERSION (innodb_flush_log_at_trx_commit=1, buffer pool $MARIADB_BUFFER_POOL); Borealis: $BOREALIS_VERSION${BOREALIS_ARGS:+ ($BOREALIS_ARGS)}"
  echo "- $TABLES tables x $TABLE_SIZE rows, $THREADS threads, $TIME s per run, median of $RUNS run(s); --mysql-ignore-errors=1213,1205"
  echo "- load average at start: $LOAD_AT_START, at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews results)"
  echo "- peak RSS is VmHWM of the server process after the test (peak since the server started)"
  [ "$SKIP_BOREALIS" = 1 ] && echo "- SKIP_BOREALIS=1: MariaDB only"
  echo
  echo "| test | MariaDB tps | Borealis tps | tps B/M | MariaDB p95 ms | Borealis p95 ms | p95 B/M | MariaDB RSS MB | Borealis RSS MB | RSS B/M | Borealis 1213/s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
} > "$REPORT"
cat "$REPORT"
log "report written to $REPORT; logs in $LOGS"
