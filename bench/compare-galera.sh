#!/usr/bin/env bash
# bench/compare-galera.sh - multi-master sysbench: 3-node MariaDB Galera vs a 3-instance Borealis
# cluster, on the same machine, in the same run (issue 3, section 9).
#
# Standalone: as root on Debian 12 it installs mariadb-server, mariadb-client, galera-4, sysbench
# and rsync if missing, then, one system at a time (never two at once: they would share the cores):
#   1. Galera: starts 3 mariadbd nodes with Debian's galera-4 on free 127.0.0.1 ports (node 1
#      bootstraps, nodes 2 and 3 join by rsync SST), prepares TABLES x TABLE_SIZE rows through
#      node 1 once, waits until nodes 2 and 3 have every row and index, then runs
#        galera-multi: one sysbench oltp_read_write per node, 3 x THREADS_EACH threads, concurrently
#        galera-one:   3 x THREADS_EACH threads in one sysbench on node 1
#      and stops the cluster.
#   2. Borealis cluster: `borealis up --instances 3 --data DIR --port P` (cluster endpoint on P,
#      slot k's instance on P+k), prepares through the cluster endpoint, waits until every instance
#      sees the rows, runs borealis-multi (one sysbench per instance endpoint) and borealis-one
#      (all threads on slot 1's endpoint), prints each instance's replication lag p99 over the
#      multi phase (its /metrics lag histogram before and after) and Borealis_replication_lag% status
#      and the page store's conflicts and refused merges by reason (Borealis_store_merge_refused_*).
#   3. Borealis lone instance: `borealis up --embedded --data DIR --port P`, prepares, runs borealis-lone with
#      all threads: the denominator of the one-writer ratio.
# A phase that fails prints FAILED and the script goes on with the next one. Conflicts are counted,
# not fatal: sysbench ignores (and retries) the errors in SB_IGNORE; abort % = ignored errors /
# (transactions + ignored errors), summed over the concurrent sysbench processes. Total tps is the
# sum over those processes, p95 the maximum of their p95s.
# Prints a markdown table and the two targets of issue 3:
#   Borealis multi tps >= 1.5 x Galera multi tps, with an abort % no higher than Galera's
#   Borealis one-writer tps on the 3-instance cluster >= 0.8 x the lone instance's tps
# and writes it to bench/results/galera-<date>.md. Everything it started is stopped on exit (also
# on error or Ctrl-C); data and logs stay in BASE.
#
# Environment (defaults in brackets):
#   TIME [60]            seconds per sysbench run       THREADS_EACH [4]   threads per sysbench in
#   TABLES [4]           TABLE_SIZE [100000]                                the multi-writer phases
#   SB_IGNORE [1213,1205,1180,1020]   errors sysbench counts and retries instead of stopping
#   SKIP_GALERA [0]  SKIP_BOREALIS_CLUSTER [0]  SKIP_BOREALIS_LONE [0]   1 = leave that system out
#   BOREALIS_ARGS []     extra flags for both `borealis up` commands
#   BOREALIS_BIN [target/release/borealis]   SKIP_BUILD [0]  1 = use BOREALIS_BIN as it is
#   BASE [mktemp -d]     scratch directory for data and logs (kept; its path is printed)
#   GALERA_BUFFER_POOL [1G]   innodb_buffer_pool_size of each Galera node
#   GALERA_FLUSH [1]     innodb_flush_log_at_trx_commit of each node (1: fsync every commit, as
#                        Borealis does by default; 2: durability from the other nodes only)
set -uo pipefail   # no -e: a failing phase is reported as FAILED and the run goes on
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD

TIME=${TIME:-60}
THREADS_EACH=${THREADS_EACH:-4}
TABLES=${TABLES:-4}
TABLE_SIZE=${TABLE_SIZE:-100000}
SB_IGNORE=${SB_IGNORE:-1213,1205,1180,1020}
SKIP_GALERA=${SKIP_GALERA:-0}
SKIP_BOREALIS_CLUSTER=${SKIP_BOREALIS_CLUSTER:-0}
SKIP_BOREALIS_LONE=${SKIP_BOREALIS_LONE:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
BOREALIS_ARGS=${BOREALIS_ARGS:-}
BOREALIS_BIN=${BOREALIS_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/release/borealis}
GALERA_BUFFER_POOL=${GALERA_BUFFER_POOL:-1G}
GALERA_FLUSH=${GALERA_FLUSH:-1}
BASE=${BASE:-$(mktemp -d /tmp/borealis-galera-bench.XXXXXX)}
RESULTS_DIR=$REPO/bench/results
LOGS=$BASE/logs
ROWS_FILE=$BASE/rows.tsv   # phase system threads tps p95 abort% (one line per phase)
NOTES_FILE=$BASE/notes.md  # lag, counters, failures: printed under the table
ALL_THREADS=$((3 * THREADS_EACH))
mkdir -p "$LOGS" "$RESULTS_DIR" || exit 1
chmod 755 "$BASE"   # mktemp makes it 0700; mariadbd runs as OS user mysql and must enter it
: > "$ROWS_FILE"
: > "$NOTES_FILE"

# Bounds: a server that hangs must not hang the script.
RUN_TIMEOUT=$((TIME + 120))   # one sysbench run
PREPARE_TIMEOUT=3600          # one sysbench prepare (400k rows: about a minute on MariaDB)
SYNC_TIMEOUT=600              # other nodes/instances having the prepared rows
START_TIMEOUT=300             # a server (or Galera joiner, with SST) ready
STOP_TIMEOUT=120              # a server exiting after shutdown/SIGTERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
note() { echo "$*" | tee -a "$NOTES_FILE" >&2; }

# ----------------------------------------------------------------------------- install
install_deps() {
  local missing=0 tool
  for tool in /usr/sbin/mariadbd mariadb-install-db mariadb mariadb-admin sysbench rsync python3 \
    pgrep /usr/lib/galera/libgalera_smm.so; do
    command -v "$tool" > /dev/null 2>&1 || [ -e "$tool" ] || missing=1
  done
  [ "$missing" = 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "ERROR: packages missing and not root: apt-get install mariadb-server mariadb-client galera-4 sysbench rsync"
    return 1
  fi
  # wait (never kill) while another apt/dpkg runs: at most 120 x 5 s
  local _
  for _ in $(seq 1 120); do
    if pgrep -x apt-get > /dev/null 2>&1 || pgrep -x dpkg > /dev/null 2>&1; then sleep 5; else break; fi
  done
  log "installing mariadb-server mariadb-client galera-4 sysbench rsync"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
      --no-install-recommends mariadb-server mariadb-client galera-4 sysbench rsync procps python3
}

# free_ports N -> the first of N consecutive free 127.0.0.1 TCP ports (bounded: 200 tries)
free_ports() {
  python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randint(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit(1)
EOF
}

wait_exit() { # $1=pid: wait up to STOP_TIMEOUT s for it to exit
  local _
  for _ in $(seq 1 "$STOP_TIMEOUT"); do
    kill -0 "$1" 2> /dev/null || return 0
    sleep 1
  done
  log "pid $1 still running after $STOP_TIMEOUT s"
  return 1
}

# tcpsql PORT USER PASS SQL -> rows, tab-separated, no header (bounded by a 60 s timeout)
tcpsql() {
  timeout 60 mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$1" -u"$2" ${3:+-p"$3"} \
    -N -B -e "$4"
}

# ----------------------------------------------------------------------------- Galera
# node i (1..3) of the block at GBASE: client GBASE+i-1, gcomm GBASE+2+i, IST GBASE+5+i,
# rsync SST GBASE+8+i
GBASE=""
GPIDS=("" "" "")
gdir() { echo "$BASE/galera/g$1"; }
gport() { echo $((GBASE + $1 - 1)); }
gsql() { timeout 60 mariadb --no-defaults -uroot -S "$(gdir "$1")/mysqld.sock" -N -B -e "$2"; }
gstatus() { gsql "$1" "SHOW GLOBAL STATUS LIKE '$2'" 2> /dev/null | awk '{print $2}'; }

galera_cnf() { # $1=i
  local i=$1 d
  d=$(gdir "$1")
  cat << EOF
[mariadbd]
user=mysql
datadir=$d/data
socket=$d/mysqld.sock
pid-file=$d/mariadbd.pid
log-error=$d/error.log
bind-address=127.0.0.1
port=$(gport "$i")
skip-name-resolve
max_connections=300
max_allowed_packet=64M
innodb_buffer_pool_size=$GALERA_BUFFER_POOL
innodb_log_file_size=256M
innodb_flush_log_at_trx_commit=$GALERA_FLUSH
sync_binlog=0
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=/usr/lib/galera/libgalera_smm.so
wsrep_cluster_name=borealis-bench
wsrep_cluster_address=gcomm://127.0.0.1:$((GBASE + 3)),127.0.0.1:$((GBASE + 4)),127.0.0.1:$((GBASE + 5))
wsrep_node_name=g$i
wsrep_node_address=127.0.0.1:$((GBASE + 2 + i))
wsrep_node_incoming_address=127.0.0.1:$(gport "$i")
wsrep_provider_options="base_host=127.0.0.1;base_port=$((GBASE + 2 + i));gmcast.listen_addr=tcp://127.0.0.1:$((GBASE + 2 + i));ist.recv_addr=127.0.0.1:$((GBASE + 5 + i));gcache.size=256M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$((GBASE + 8 + i))
wsrep_slave_threads=4
EOF
}

start_gnode() { # $1=i [extra mariadbd args...]: start, wait until it answers and is Synced
  local i=$1 d pid _
  shift
  d=$(gdir "$i")
  rm -rf "$d" && mkdir -p "$d/data" && chown -R mysql:mysql "$d" || return 1
  galera_cnf "$i" > "$d/my.cnf" || return 1
  mariadb-install-db --no-defaults --user=mysql --datadir="$d/data" \
    --auth-root-authentication-method=socket --skip-test-db > "$d/install-db.log" 2>&1 ||
    { tail -20 "$d/install-db.log" >&2; return 1; }
  log "galera: starting node $i on 127.0.0.1:$(gport "$i") $*"
  setsid /usr/sbin/mariadbd --defaults-file="$d/my.cnf" "$@" >> "$d/stdout.log" 2>&1 < /dev/null &
  pid=$!
  GPIDS[i - 1]=$pid
  for _ in $(seq 1 "$START_TIMEOUT"); do
    if [ "$(gstatus "$i" wsrep_local_state_comment)" = Synced ]; then
      [ -s "$d/mariadbd.pid" ] && GPIDS[i - 1]=$(cat "$d/mariadbd.pid")
      return 0
    fi
    kill -0 "$pid" 2> /dev/null || { log "galera: node $i died"; tail -30 "$d/error.log" >&2; return 1; }
    sleep 1
  done
  log "galera: node $i not Synced within $START_TIMEOUT s"
  return 1
}

stop_gnode() { # $1=i
  local i=$1 pid=${GPIDS[$1 - 1]}
  [ -n "$pid" ] || return 0
  GPIDS[i - 1]=""
  kill -0 "$pid" 2> /dev/null || return 0
  log "galera: stopping node $i (pid $pid)"
  timeout 60 mariadb-admin --no-defaults -uroot -S "$(gdir "$i")/mysqld.sock" shutdown 2> /dev/null ||
    kill -TERM "$pid" 2> /dev/null
  wait_exit "$pid" || kill -KILL "$pid" 2> /dev/null
}

# joiners first, so node 1 is left with safe_to_bootstrap: 1
stop_galera() { stop_gnode 3; stop_gnode 2; stop_gnode 1; }

start_galera() {
  GBASE=$(free_ports 12) || { log "galera: no 12 free consecutive ports"; return 1; }
  start_gnode 1 --wsrep-new-cluster || return 1
  gsql 1 "CREATE DATABASE IF NOT EXISTS sbtest;
    CREATE USER IF NOT EXISTS 'sbtest'@'%' IDENTIFIED BY 'sbtest';
    GRANT ALL ON sbtest.* TO 'sbtest'@'%';" || return 1
  start_gnode 2 && start_gnode 3 || return 1
  local size
  size=$(gstatus 1 wsrep_cluster_size)
  [ "$size" = 3 ] || { log "galera: wsrep_cluster_size is '$size', not 3"; return 1; }
  GALERA_VERSION="$(gsql 1 "SELECT VERSION()"), galera-4 $(gstatus 1 wsrep_provider_version)"
  log "galera: 3 nodes Synced ($GALERA_VERSION)"
}

# wsrep counters of every node: "g1 cert=.. bf=.. recvq_avg=.. fc_paused=..; g2 ..."
galera_counters() {
  local i s=""
  for i in 1 2 3; do
    s+="g$i cert_failures=$(gstatus "$i" wsrep_local_cert_failures) bf_aborts=$(gstatus "$i" wsrep_local_bf_aborts)"
    s+=" recv_queue_avg=$(gstatus "$i" wsrep_local_recv_queue_avg) flow_control_paused=$(gstatus "$i" wsrep_flow_control_paused); "
  done
  echo "$s"
}

# Galera has no commit-to-applied lag figure (certification is synchronous, applying is not):
# wsrep_local_recv_queue_avg per node, the average apply backlog in write sets, stands in for it
galera_recvq() {
  local i s=""
  for i in 1 2 3; do s+="${s:+/}$(gstatus "$i" wsrep_local_recv_queue_avg)"; done
  echo "$s"
}

# ----------------------------------------------------------------------------- Borealis
BCPID=""   # `borealis up --instances 3` (its own process group: page store + instances)
BLPID=""   # lone `borealis up`

build_borealis() {
  [ "$SKIP_BUILD" = 1 ] && return 0
  log "cargo build --release -p borealis"
  cargo build --release -p borealis
}

# start_borealis_group LOGFILE ARGS... -> pid (also the process group id) on stdout
start_borealis_group() {
  local logfile=$1
  shift
  [ -x "$BOREALIS_BIN" ] || { log "no Borealis binary at $BOREALIS_BIN"; return 1; }
  # setsid: the server and every process it spawns share one process group, stopped together
  # shellcheck disable=SC2086 # BOREALIS_ARGS is a list of flags
  setsid "$BOREALIS_BIN" up "$@" $BOREALIS_ARGS > "$logfile" 2>&1 < /dev/null &
  echo $!
}

# wait_ports PID LOGFILE PORT... : every port answers SELECT 1 as root, while PID lives
wait_ports() {
  local pid=$1 logfile=$2 port _
  shift 2
  for port in "$@"; do
    for _ in $(seq 1 "$START_TIMEOUT"); do
      tcpsql "$port" root "" "SELECT 1" > /dev/null 2>&1 && break
      kill -0 "$pid" 2> /dev/null || { log "borealis died at start"; tail -30 "$logfile" >&2; return 1; }
      sleep 1
    done
    tcpsql "$port" root "" "SELECT 1" > /dev/null 2>&1 ||
      { log "port $port not ready within $START_TIMEOUT s"; return 1; }
  done
}

stop_group() { # $1=pid = process group id: TERM the group, KILL what is left after STOP_TIMEOUT
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -0 -- "-$pid" 2> /dev/null || return 0
  log "stopping Borealis process group $pid"
  kill -TERM -- "-$pid" 2> /dev/null
  wait_exit "$pid" || true
  local _
  for _ in $(seq 1 10); do   # the group's other processes: a few seconds more, then KILL
    kill -0 -- "-$pid" 2> /dev/null || return 0
    sleep 1
  done
  log "Borealis process group $pid ignored SIGTERM: SIGKILL"
  kill -KILL -- "-$pid" 2> /dev/null || true
}

start_borealis_cluster() {
  BCPORT=$(free_ports 4) || { log "borealis: no 4 free consecutive ports"; return 1; }
  local d=$BASE/borealis-cluster
  rm -rf "$d" && mkdir -p "$d/data" || return 1
  log "borealis cluster: borealis up --instances 3 --port $BCPORT"
  BCPID=$(start_borealis_group "$d/borealis.log" --instances 3 --storage-port 0 --data "$d/data" --port "$BCPORT") || return 1
  wait_ports "$BCPID" "$d/borealis.log" "$BCPORT" $((BCPORT + 1)) $((BCPORT + 2)) $((BCPORT + 3)) || return 1
  grep -m1 '^Borealis ready:' "$d/borealis.log" >&2 || true
  tcpsql "$BCPORT" root "" "CREATE DATABASE IF NOT EXISTS sbtest"
}

start_borealis_lone() {
  BLPORT=$(free_ports 1) || return 1
  local d=$BASE/borealis-lone
  rm -rf "$d" && mkdir -p "$d/data" || return 1
  log "borealis lone instance: borealis up --embedded --port $BLPORT"
  BLPID=$(start_borealis_group "$d/borealis.log" --embedded --data "$d/data" --port "$BLPORT") || return 1
  wait_ports "$BLPID" "$d/borealis.log" "$BLPORT" || return 1
  tcpsql "$BLPORT" root "" "CREATE DATABASE IF NOT EXISTS sbtest"
}

# Borealis_replication_lag% of one instance endpoint, "n/a" for each variable it lacks
borealis_lag() { # $1=port
  local out last p99
  out=$(tcpsql "$1" root "" "SHOW GLOBAL STATUS LIKE 'Borealis_replication_lag%'" 2> /dev/null)
  last=$(awk '$1 == "Borealis_replication_lag_us" { print $2 }' <<< "$out")
  p99=$(awk '$1 == "Borealis_replication_lag_p99_us" { print $2 }' <<< "$out")
  echo "lag_us=${last:-n/a} lag_p99_us=${p99:-n/a}"
}

# metrics_url K: instance K's /metrics address, as `borealis up` printed it
metrics_url() {
  awk -v k="$1" '$1 == "metrics" && $2 == k { print $3; exit }' "$BASE/borealis-cluster/borealis.log"
}

# lag_snapshot URL FILE: the replication lag histogram at URL, "le cumulative-count" per line
lag_snapshot() {
  python3 - "$1" > "$2" 2> /dev/null << 'PY'
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
for line in body.splitlines():
    if line.startswith("borealis_replication_lag_seconds_bucket{"):
        print(line.split('le="')[1].split('"')[0], line.rsplit(" ", 1)[1])
PY
}

# phase_p99 BEFORE AFTER: p99 in ms of the lags observed between two snapshots (the status
# variable counts since the instance started, prepare included), interpolated in its bucket
phase_p99() {
  python3 - "$1" "$2" 2> /dev/null << 'PY' || echo n/a
import sys
def load(path):
    return [(le, int(n)) for le, n in (line.split() for line in open(path))]
before, after = load(sys.argv[1]), load(sys.argv[2])
counts = [(le, a - b) for (le, a), (_, b) in zip(after, before)]
total = counts[-1][1]
if total == 0:
    print("n/a")
    sys.exit()
rank, lower, below = 0.99 * total, 0.0, 0
for le, cum in counts:
    if cum >= rank:
        if le == "+Inf":
            print(f">{lower * 1000:g}")
        else:
            upper = float(le)
            print(f"{(lower + (upper - lower) * (rank - below) / max(cum - below, 1)) * 1000:.1f}")
        break
    if le != "+Inf":
        lower, below = float(le), cum
PY
}

# The page store's conflicts, merges and refused merges by reason (Borealis_store_merge_refused_*,
# the non-zero ones), counted since the store started, as "conflicts=N merges=N same_rows=N ..."
borealis_refusals() { # $1=port
  tcpsql "$1" root "" "SHOW GLOBAL STATUS LIKE 'Borealis_store_%'" 2> /dev/null |
    awk '$1 == "Borealis_store_conflicts" || $1 == "Borealis_store_merges" {
           sub("Borealis_store_", "", $1); printf "%s=%s ", $1, $2 }
         $1 ~ /^Borealis_store_merge_refused_/ && $2 > 0 {
           sub("Borealis_store_merge_refused_", "", $1); printf "%s=%s ", $1, $2 }'
}

# lost commits of each instance at PORTS, and how many were replayed (not seen by the client) or
# abandoned as mismatches (the client got 1213): "i1 conflicts=.. replays=.. mismatches=..; ..."
borealis_replays() { # $@=ports
  local port s="" k=0
  for port in "$@"; do
    k=$((k + 1))
    s+="i$k $(tcpsql "$port" root "" "SHOW GLOBAL STATUS WHERE Variable_name IN ('Borealis_conflicts', 'Borealis_replays', 'Borealis_replay_mismatches')" 2> /dev/null |
      awk '{ sub("Borealis_", "", $1); printf "%s=%s ", $1, $2 }'); "
  done
  echo "$s"
}

SB_PIDS=()   # running `timeout sysbench` processes of measure (each in its own process group)

cleanup_all() {
  local pid
  for pid in "${SB_PIDS[@]}"; do kill -TERM "$pid" 2> /dev/null; done   # timeout passes it on
  stop_group "$BCPID"
  BCPID=""
  stop_group "$BLPID"
  BLPID=""
  stop_galera
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

# ----------------------------------------------------------------------------- sysbench
sb() { # $1=port $2=user $3=pass $4=command $5=timeout [extra...] -> output on stdout
  local port=$1 user=$2 pass=$3 cmd=$4 limit=$5
  shift 5
  timeout -k 10 "$limit" sysbench oltp_read_write --db-driver=mysql --mysql-host=127.0.0.1 \
    --mysql-port="$port" --mysql-user="$user" --mysql-password="$pass" --mysql-db=sbtest \
    --tables="$TABLES" --table-size="$TABLE_SIZE" --percentile=95 \
    --mysql-ignore-errors="$SB_IGNORE" "$@" "$cmd"
}

prepare() { # $1=label $2=port $3=user $4=pass
  log "$1: prepare $TABLES x $TABLE_SIZE rows through port $2"
  local t0=$SECONDS
  if ! sb "$2" "$3" "$4" prepare "$PREPARE_TIMEOUT" --threads="$TABLES" > "$LOGS/$1-prepare.txt" 2>&1; then
    log "$1: prepare failed; see $LOGS/$1-prepare.txt"
    tail -5 "$LOGS/$1-prepare.txt" >&2
    return 1
  fi
  note "- $1: prepare of $TABLES x $TABLE_SIZE rows took $((SECONDS - t0)) s"
}

# has_data PORT USER PASS -> 0 when every table N has TABLE_SIZE rows and its index k_N
has_data() {
  local n rows idx
  for n in $(seq 1 "$TABLES"); do
    rows=$(tcpsql "$1" "$2" "$3" "SELECT COUNT(*) FROM sbtest.sbtest$n" 2> /dev/null) || return 1
    [ "$rows" = "$TABLE_SIZE" ] || return 1
    idx=$(tcpsql "$1" "$2" "$3" "SHOW INDEX FROM sbtest.sbtest$n" 2> /dev/null) || return 1
    grep -q "k_$n" <<< "$idx" || return 1
  done
}

# wait_data LABEL USER PASS PORT...: wait until every port has the prepared rows
wait_data() {
  local label=$1 user=$2 pass=$3 port _ t0=$SECONDS
  shift 3
  for port in "$@"; do
    for _ in $(seq 1 "$SYNC_TIMEOUT"); do
      has_data "$port" "$user" "$pass" && break
      [ $((SECONDS - t0)) -ge "$SYNC_TIMEOUT" ] && break
      sleep 1
    done
    has_data "$port" "$user" "$pass" ||
      { log "$label: port $port lacks the prepared rows after $SYNC_TIMEOUT s"; return 1; }
  done
  note "- $label: every node/instance had all $TABLES x $TABLE_SIZE rows $((SECONDS - t0)) s after prepare"
}

# row PHASE SYSTEM THREADS TPS P95 ABORT% (the lag column starts as "-"; see set_lag)
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t-\n' "$@" >> "$ROWS_FILE"; }

set_lag() { # $1=phase $2=text: the replication lag column of that phase's row
  awk -F'\t' -v OFS='\t' -v p="$1" -v t="$2" '$1 == p { $7 = t } { print }' "$ROWS_FILE" \
    > "$ROWS_FILE.new" && mv "$ROWS_FILE.new" "$ROWS_FILE"
}
failed() { # $1=phase $2=system $3=threads $4=why
  row "$1" "$2" "$3" FAILED - -
  note "- $1 FAILED: $4"
}

# measure PHASE SYSTEM USER PASS THREADS PORT... : one sysbench per port, concurrently, each
# with THREADS threads; records one row (sum of tps, max p95, abort %), or FAILED
measure() {
  local phase=$1 system=$2 user=$3 pass=$4 threads=$5 port k=0 pids=() outs=() rc=0
  shift 5
  log "$phase: $# sysbench x $threads threads, $TIME s"
  for port in "$@"; do
    k=$((k + 1))
    outs+=("$LOGS/$phase-$k.txt")
    sb "$port" "$user" "$pass" run "$RUN_TIMEOUT" --threads="$threads" --time="$TIME" \
      --events=0 --report-interval=10 > "$LOGS/$phase-$k.txt" 2>&1 &
    pids+=($!)
    SB_PIDS+=($!)
  done
  for k in "${!pids[@]}"; do
    wait "${pids[$k]}" || { rc=$?; log "$phase: sysbench $((k + 1)) exit $rc; see ${outs[$k]}"; tail -5 "${outs[$k]}" >&2; }
  done
  SB_PIDS=()
  [ "$rc" = 0 ] || { failed "$phase" "$system" "$(($# * threads))" "sysbench exit $rc (logs $LOGS/$phase-*.txt)"; return 1; }
  # per process: transactions, tps, ignored errors, p95
  local summary
  summary=$(awk '
    FNR == 1 { f++ }
    /transactions:/   { gsub(/[()]/, ""); trx[f] = $2; tps[f] = $3 }
    /ignored errors:/ { ign[f] = $3 }
    /95th percentile:/ { p95[f] = $3 }
    END {
      for (i = 1; i <= f; i++) {
        if (tps[i] == "" || p95[i] == "") { print "PARSE"; exit }
        T += trx[i]; S += tps[i]; I += ign[i]; if (p95[i] + 0 > P + 0) P = p95[i]
        each = each sprintf("%s%.1f tps/p95 %s ms/%d ign", (i > 1 ? "; " : ""), tps[i], p95[i], ign[i])
      }
      printf "%.2f\t%s\t%.2f\t%s\n", S, P, (T + I > 0 ? 100 * I / (T + I) : 0), each
    }' "${outs[@]}")
  if [ -z "$summary" ] || [ "$summary" = PARSE ]; then
    failed "$phase" "$system" "$(($# * threads))" "no tps/p95 in sysbench output ($LOGS/$phase-*.txt)"
    return 1
  fi
  local tps p95 abort each
  IFS=$'\t' read -r tps p95 abort each <<< "$summary"
  row "$phase" "$system" "$(($# * threads))" "$tps" "$p95" "$abort"
  [ "$#" -gt 1 ] && note "- $phase per process: $each"
  log "$phase: $tps tps, p95 $p95 ms, $abort % aborted"
}

# ----------------------------------------------------------------------------- stages
stage_galera() {
  if ! start_galera; then
    failed galera-multi Galera "$ALL_THREADS" "cluster did not start (logs in $BASE/galera)"
    failed galera-one Galera "$ALL_THREADS" "cluster did not start"
    return
  fi
  if ! { prepare galera "$(gport 1)" sbtest sbtest &&
    wait_data galera sbtest sbtest "$(gport 2)" "$(gport 3)"; }; then
    failed galera-multi Galera "$ALL_THREADS" "prepare or its replication failed"
    failed galera-one Galera "$ALL_THREADS" "prepare or its replication failed"
    return
  fi
  note "- galera counters before: $(galera_counters)"
  measure galera-multi Galera sbtest sbtest "$THREADS_EACH" "$(gport 1)" "$(gport 2)" "$(gport 3)"
  note "- galera counters after multi: $(galera_counters)"
  set_lag galera-multi "n/a (recv queue avg $(galera_recvq))"
  measure galera-one Galera sbtest sbtest "$ALL_THREADS" "$(gport 1)"
  note "- galera counters after one: $(galera_counters)"
}

stage_borealis_cluster() {
  if ! start_borealis_cluster; then
    failed borealis-multi "Borealis 3 inst." "$ALL_THREADS" "cluster did not start (log $BASE/borealis-cluster/borealis.log)"
    failed borealis-one "Borealis 3 inst." "$ALL_THREADS" "cluster did not start"
    return
  fi
  if ! { prepare borealis-cluster "$BCPORT" root "" &&
    wait_data borealis-cluster root "" $((BCPORT + 1)) $((BCPORT + 2)) $((BCPORT + 3)); }; then
    failed borealis-multi "Borealis 3 inst." "$ALL_THREADS" "prepare or its replication failed"
    failed borealis-one "Borealis 3 inst." "$ALL_THREADS" "prepare or its replication failed"
    return
  fi
  local k lag all="" p99
  for k in 1 2 3; do lag_snapshot "$(metrics_url $k)" "$LOGS/lag-$k.before"; done
  measure borealis-multi "Borealis 3 inst." root "" "$THREADS_EACH" \
    $((BCPORT + 1)) $((BCPORT + 2)) $((BCPORT + 3))
  for k in 1 2 3; do
    lag_snapshot "$(metrics_url $k)" "$LOGS/lag-$k.after"
    p99=$(phase_p99 "$LOGS/lag-$k.before" "$LOGS/lag-$k.after")
    lag=$(borealis_lag $((BCPORT + k)))
    note "- borealis-multi replication lag, instance $k: p99 in the phase $p99 ms; since start $lag"
    all+="${all:+; }i$k p99 $p99 ms"
  done
  set_lag borealis-multi "$all"
  note "- borealis-multi page store, refused merges by reason: $(borealis_refusals $((BCPORT + 1)))"
  note "- borealis-multi lost commits per instance (replayed or 1213): $(borealis_replays $((BCPORT + 1)) $((BCPORT + 2)) $((BCPORT + 3)))"
  measure borealis-one "Borealis 3 inst." root "" "$ALL_THREADS" $((BCPORT + 1))
  note "- borealis-multi + borealis-one page store, refused merges by reason: $(borealis_refusals $((BCPORT + 1)))"
  note "- borealis-multi + borealis-one lost commits per instance: $(borealis_replays $((BCPORT + 1)) $((BCPORT + 2)) $((BCPORT + 3)))"
}

stage_borealis_lone() {
  if ! start_borealis_lone; then
    failed borealis-lone "Borealis lone" "$ALL_THREADS" "server did not start (log $BASE/borealis-lone/borealis.log)"
    return
  fi
  if ! prepare borealis-lone "$BLPORT" root ""; then
    failed borealis-lone "Borealis lone" "$ALL_THREADS" "prepare failed"
    return
  fi
  measure borealis-lone "Borealis lone" root "" "$ALL_THREADS" "$BLPORT"
  note "- borealis-lone page store, refused merges by reason: $(borealis_refusals "$BLPORT")"
  note "- borealis-lone lost commits: $(borealis_replays "$BLPORT")"
}

# ----------------------------------------------------------------------------- report
# tps_of / abort_of PHASE -> that column of the phase's row, "-" when the phase did not run
tps_of() { awk -F'\t' -v p="$1" '$1 == p { v = $4 } END { print (v == "" ? "-" : v) }' "$ROWS_FILE"; }
abort_of() { awk -F'\t' -v p="$1" '$1 == p { v = $6 } END { print (v == "" ? "-" : v) }' "$ROWS_FILE"; }

ratio() { # $1/$2 with 2 decimals, "-" when either is not a number
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}

verdict() { # $1=ratio $2=target [$3=extra condition "ok"|"no"|""] -> met / NOT met / -
  awk -v r="$1" -v t="$2" -v c="${3:-}" 'BEGIN {
    if (r !~ /^[0-9.]+$/ || c == "-") { print "-"; exit }
    print ((r + 0 >= t + 0 && c != "no") ? "met" : "NOT met") }'
}

report() {
  local stamp file cpu mem g_tps b_tps g_ab b_ab r1 r2 ab_ok
  stamp=$(date -u +%Y-%m-%d_%H%M%S)
  file=$RESULTS_DIR/galera-$stamp.md
  cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
  mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
  g_tps=$(tps_of galera-multi); b_tps=$(tps_of borealis-multi)
  g_ab=$(abort_of galera-multi); b_ab=$(abort_of borealis-multi)
  r1=$(ratio "$b_tps" "$g_tps")
  r2=$(ratio "$(tps_of borealis-one)" "$(tps_of borealis-lone)")
  ab_ok=$(awk -v b="$b_ab" -v g="$g_ab" 'BEGIN {
    if (b !~ /^[0-9.]+$/ || g !~ /^[0-9.]+$/) print "-"; else print (b + 0 <= g + 0 ? "ok" : "no") }')
  {
    echo "# Multi-master: Galera 3 nodes vs Borealis 3 instances, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) cores ($cpu), $mem; $(uname -sr)"
    echo "- sysbench $(sysbench --version | awk '{print $2}') oltp_read_write, $TABLES tables x $TABLE_SIZE rows, $TIME s per phase; multi = 3 sysbench x $THREADS_EACH threads, one per node/instance, concurrently; one = $ALL_THREADS threads on node/instance 1"
    # A given binary need not be the checkout's build: name it too.
    local bin_label=""
    [ "$SKIP_BUILD" = 1 ] && bin_label=" checkout, binary $BOREALIS_BIN of $(date -u -r "$BOREALIS_BIN" '+%F %H:%M UTC')"
    echo "- Galera: ${GALERA_VERSION:-not run}${GALERA_VERSION:+ (innodb_flush_log_at_trx_commit=$GALERA_FLUSH, wsrep_slave_threads=4, buffer pool $GALERA_BUFFER_POOL per node)}; Borealis: $(git -C "$REPO" rev-parse --short HEAD 2> /dev/null || echo unknown)$bin_label${BOREALIS_ARGS:+ ($BOREALIS_ARGS)}"
    echo "- abort % = sysbench ignored errors ($SB_IGNORE) / (transactions + ignored errors); tps summed, p95 = max over the concurrent sysbench processes"
    echo "- load average at start: $LOAD_AT_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| phase | system | threads | total tps | p95 ms | abort % | replication lag |"
    echo "|---|---|---:|---:|---:|---:|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$ROWS_FILE"
    echo
    echo "| ratio | value | target | |"
    echo "|---|---:|---|---|"
    echo "| borealis-multi / galera-multi tps (abort % $b_ab vs $g_ab) | $r1 | >= 1.5, abort % not higher | $(verdict "$r1" 1.5 "$ab_ok") |"
    echo "| borealis-one (3-instance cluster) / borealis-lone tps | $r2 | >= 0.8 | $(verdict "$r2" 0.8) |"
    echo "| galera-multi / galera-one tps (for reference) | $(ratio "$g_tps" "$(tps_of galera-one)") | | |"
    echo
    cat "$NOTES_FILE"
  } > "$file"
  echo
  cat "$file"
  log "report written to $file; data and logs in $BASE"
}

# ----------------------------------------------------------------------------- main
main() {
  LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
  GALERA_VERSION=""
  log "scratch directory $BASE"
  install_deps || exit 1
  if [ "$SKIP_GALERA" != 1 ]; then
    if [ "$(id -u)" = 0 ]; then
      stage_galera
    else
      failed galera-multi Galera "$ALL_THREADS" "needs root (mariadbd runs as OS user mysql)"
      failed galera-one Galera "$ALL_THREADS" "needs root"
    fi
    stop_galera
  fi
  if [ "$SKIP_BOREALIS_CLUSTER" != 1 ] || [ "$SKIP_BOREALIS_LONE" != 1 ]; then
    build_borealis || log "cargo build failed; using whatever is at $BOREALIS_BIN"
  fi
  if [ "$SKIP_BOREALIS_CLUSTER" != 1 ]; then
    stage_borealis_cluster
    stop_group "$BCPID"
    BCPID=""
  fi
  if [ "$SKIP_BOREALIS_LONE" != 1 ]; then
    stage_borealis_lone
    stop_group "$BLPID"
    BLPID=""
  fi
  report
}

# sourced (for debugging single functions): define everything, run nothing
[ "${BASH_SOURCE[0]}" = "$0" ] && main "$@"
