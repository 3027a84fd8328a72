#!/usr/bin/env bash
# A PostgreSQL 15 high-availability cluster on one machine, for tests and `make demo-ha`:
# one etcd, two Patroni-managed PostgreSQL nodes (a primary and a synchronous streaming
# replica) and HAProxy in front using Patroni's REST health checks. Everything listens on
# 127.0.0.1 on its own ports, runs as an unprivileged user (as root: the `postgres` system
# user) and is ended by the PIDs this script records. See docs/scale.md, "PostgreSQL".
#
#   ha/cluster.sh start DIR [BASE_PORT]   bootstrap (or restart) the cluster in DIR; prints its endpoints
#   ha/cluster.sh stop DIR                end every process it started, by PID
#   ha/cluster.sh leader DIR              the current leader's name (node1 or node2)
#   ha/cluster.sh kill-leader DIR         kill -9 the leader's Patroni and postmaster (a host that died)
#   ha/cluster.sh start-node DIR NAME     start a stopped or killed node again (it rejoins as a replica)
#   ha/cluster.sh freeze-replica DIR      SIGSTOP the replica's WAL receiver: it falls behind
#   ha/cluster.sh thaw-replica DIR        SIGCONT it (also after a failover)
#   ha/cluster.sh wait-streaming DIR      wait until a replica streams from the leader and Patroni
#                                         has made it the synchronous standby (it may be promoted)
#
# Ports from BASE_PORT (default 15400): etcd client +0 and peer +1; node1 PostgreSQL +2 and
# REST +3; node2 +4 and +5; HAProxy primary (writes) +6 and replica (reads) +7.
# DIR/env holds the connection facts (ports, passwords, CA) for clients; DIR/ca.pem is the CA
# that issued the servers' certificate (valid for 127.0.0.1 and localhost).
set -euo pipefail

die() { echo "ha/cluster.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: ha/cluster.sh start|stop|leader|kill-leader|start-node|freeze-replica|thaw-replica|wait-streaming DIR ..."
command=$1
dir=$(realpath -m "$2")
shift 2

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pg_bin" ] || die "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)"
clean_path="$pg_bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

# As root, every daemon runs as `postgres`. setpriv and env exec in place, so the PID
# recorded is the daemon's own. A clean environment: an inherited PGPASSWORD would
# override Patroni's pgpass.
user_prefix=(env -i PATH="$clean_path" HOME="$dir")
if [ "$(id -u)" -eq 0 ]; then
    user_prefix=(setpriv --reuid=postgres --regid=postgres --init-groups -- "${user_prefix[@]}")
fi

# Starts a daemon in the background, its output in DIR/NAME.log, its PID in DIR/NAME.pid
# (and in TEST_HARNESS_PIDS_DIR when set, so a crashed test run's leftovers are reaped).
# Descriptors the caller left open are closed first: a daemon holding one (say, the pipe
# or socket a test harness watches for this script's exit) would keep the caller waiting.
launch() {
    local name=$1; shift
    local inherited=() fd
    for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] && inherited+=("$fd")
    done
    (
        for fd in "${inherited[@]}"; do eval "exec $fd>&-"; done 2>/dev/null
        exec "${user_prefix[@]}" "$@"
    ) >>"$dir/$name.log" 2>&1 &
    echo $! >"$dir/$name.pid"
    if [ -n "${TEST_HARNESS_PIDS_DIR:-}" ] && [ -d "$TEST_HARNESS_PIDS_DIR" ]; then echo "ha-$name" >"$TEST_HARNESS_PIDS_DIR/$!"; fi
}

# A recorded PID, only while it is still this cluster's process (its command line names $dir):
# a PID file left by a killed process never makes us signal whoever has that PID now.
pid_of() {
    local pid
    [ -f "$dir/$1.pid" ] || return 1
    pid=$(cat "$dir/$1.pid")
    grep -qF "$dir" "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}
alive() { local pid; pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null; }
postmaster_pid() { [ -f "$dir/$1/data/postmaster.pid" ] && head -1 "$dir/$1/data/postmaster.pid"; }

# Patroni starts the postmasters, and a killed Patroni leaves its postmaster running: their
# PIDs go to the test harness's reaper too (listed in DIR/postmasters, so stop can forget them).
track_postmasters() {
    [ -n "${TEST_HARNESS_PIDS_DIR:-}" ] && [ -d "$TEST_HARNESS_PIDS_DIR" ] || return 0
    local node pid
    for node in node1 node2; do
        pid=$(postmaster_pid $node) || continue
        grep -q "$dir/$node/data" "/proc/$pid/cmdline" 2>/dev/null || continue
        echo "ha-$node-postmaster" >"$TEST_HARNESS_PIDS_DIR/$pid"
        grep -qx "$pid" "$dir/postmasters" 2>/dev/null || echo "$pid" >>"$dir/postmasters"
    done
}

load_env() {
    [ -f "$dir/env" ] || die "$dir has no cluster (run start first)"
    # shellcheck disable=SC1091
    . "$dir/env"
}

rest_port() { if [ "$1" = node1 ]; then echo "$HA_NODE1_REST_PORT"; else echo "$HA_NODE2_REST_PORT"; fi; }

# The member answering 200 on /primary, if any.
leader() {
    local node
    for node in node1 node2; do
        if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$(rest_port $node)/primary" 2>/dev/null; then
            echo "$node"; return 0
        fi
    done
    return 1
}

wait_for() {
    local what=$1 seconds=$2; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "timed out after ${seconds}s waiting for $what (logs in $dir)"
        sleep 0.5
    done
}

superuser_psql() {
    PGPASSWORD="$HA_SUPERUSER_PASSWORD" psql "host=127.0.0.1 port=$1 user=postgres dbname=${2:-postgres} sslmode=verify-full sslrootcert=$dir/ca.pem" \
        -v ON_ERROR_STOP=1 -At -c "$3"
}

streaming() { [ "$(superuser_psql "$HA_PRIMARY_PORT" postgres "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" -ge 1 ]; }
# A member that Patroni has recorded as the synchronous standby (its /sync answers 200). With
# synchronous_mode only that member may be promoted: streaming alone is not enough, since the
# leader names a new standby only a loop or two after it starts streaming (after a rejoin, say).
sync_standby() {
    local node
    for node in node1 node2; do
        curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$(rest_port $node)/sync" 2>/dev/null && return 0
    done
    return 1
}
streaming_sync() { streaming && sync_standby; }
replica_endpoint() { [ "$(superuser_psql "$HA_REPLICA_PORT" postgres "SELECT pg_is_in_recovery()")" = t ]; }

write_configuration() {
    local base=$1
    mkdir -p "$dir"
    local superuser_password replication_password outpost_password
    superuser_password=$(openssl rand -hex 16)
    replication_password=$(openssl rand -hex 16)
    outpost_password=$(openssl rand -hex 16)
    cat >"$dir/env" <<ENV
HA_DIR=$dir
HA_ETCD_PORT=$base
HA_ETCD_PEER_PORT=$((base + 1))
HA_NODE1_PORT=$((base + 2))
HA_NODE1_REST_PORT=$((base + 3))
HA_NODE2_PORT=$((base + 4))
HA_NODE2_REST_PORT=$((base + 5))
HA_PRIMARY_PORT=$((base + 6))
HA_REPLICA_PORT=$((base + 7))
HA_CA_FILE=$dir/ca.pem
HA_SUPERUSER_PASSWORD=$superuser_password
HA_REPLICATION_PASSWORD=$replication_password
HA_OUTPOST_PASSWORD=$outpost_password
ENV
    chmod 600 "$dir/env"
    load_env

    # A CA and one server certificate for both nodes (they share the names 127.0.0.1 and localhost).
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
    openssl req -new -x509 -key "$dir/ca.key" -out "$dir/ca.pem" -days 30 -subj "/CN=Outpost HA test CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/server.key" 2>/dev/null
    openssl req -new -key "$dir/server.key" -out "$dir/server.csr" -subj "/CN=localhost" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' \
        >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "$RANDOM$RANDOM" -days 30 \
        -out "$dir/server.pem" -extfile "$dir/server.ext" 2>/dev/null
    chmod 600 "$dir/ca.key" "$dir/server.key"

    local node port rest
    for node in node1 node2; do
        if [ $node = node1 ]; then port=$HA_NODE1_PORT rest=$HA_NODE1_REST_PORT; else port=$HA_NODE2_PORT rest=$HA_NODE2_REST_PORT; fi
        mkdir -p "$dir/$node"
        cat >"$dir/$node.yml" <<YAML
scope: outpost
name: $node
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd3:
  hosts: 127.0.0.1:$HA_ETCD_PORT
bootstrap:
  dcs:
    # Failover in ~10 s instead of ~25 s with the defaults (loop_wait + 2 * retry_timeout <= ttl).
    ttl: 10
    loop_wait: 2
    retry_timeout: 3
    # An acknowledged commit is on the replica too (see docs/scale.md): without it a lagging
    # replica promoted after a crash loses acknowledged readings.
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        max_connections: 200
        synchronous_commit: "on"
  initdb:
    - encoding: UTF8
    - data-checksums
  pg_hba:
    - local all all trust
    - hostssl replication replicator 127.0.0.1/32 scram-sha-256
    - hostssl all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:$port
  connect_address: 127.0.0.1:$port
  data_dir: $dir/$node/data
  bin_dir: $pg_bin
  pgpass: $dir/$node/pgpass
  use_unix_socket: true
  authentication:
    superuser:
      username: postgres
      password: $HA_SUPERUSER_PASSWORD
    replication:
      username: replicator
      password: $HA_REPLICATION_PASSWORD
    rewind:
      username: postgres
      password: $HA_SUPERUSER_PASSWORD
  parameters:
    unix_socket_directories: $dir/$node
    ssl: "on"
    ssl_cert_file: $dir/server.pem
    ssl_key_file: $dir/server.key
    fsync: "on"
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
YAML
        chmod 600 "$dir/$node.yml"
    done

    cat >"$dir/haproxy.cfg" <<CFG
global
    maxconn 1000
defaults
    mode tcp
    timeout connect 4s
    timeout client 30m
    timeout server 30m
    timeout check 2s
    # TCP keepalives on both sides: a peer gone without a FIN (a dead host) is noticed by the
    # kernel instead of holding a session until the 30-minute timeouts.
    option clitcpka
    option srvtcpka
# Writes: whichever member answers 200 on Patroni's /primary.
listen primary
    bind 127.0.0.1:$HA_PRIMARY_PORT
    option httpchk GET /primary
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
    server node1 127.0.0.1:$HA_NODE1_PORT check port $HA_NODE1_REST_PORT
    server node2 127.0.0.1:$HA_NODE2_PORT check port $HA_NODE2_REST_PORT
# Reads that tolerate staleness: a streaming replica (Patroni's /replica).
listen replica
    bind 127.0.0.1:$HA_REPLICA_PORT
    option httpchk GET /replica
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
    server node1 127.0.0.1:$HA_NODE1_PORT check port $HA_NODE1_REST_PORT
    server node2 127.0.0.1:$HA_NODE2_PORT check port $HA_NODE2_REST_PORT
CFG
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$dir"; fi
}

start_node() {
    local node=$1
    alive "$node" && return 0
    launch "$node" patroni "$dir/$node.yml"
}

start() {
    local base=${1:-15400}
    command -v patroni >/dev/null && command -v etcd >/dev/null && command -v haproxy >/dev/null \
        || die "needs patroni, etcd-server and haproxy (make deps)"
    [ -f "$dir/env" ] || write_configuration "$base"
    load_env
    alive etcd || launch etcd etcd --name outpost-ha --data-dir "$dir/etcd" \
        --listen-client-urls "http://127.0.0.1:$HA_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$HA_ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$HA_ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$HA_ETCD_PEER_PORT" \
        --initial-cluster "outpost-ha=http://127.0.0.1:$HA_ETCD_PEER_PORT"
    wait_for "etcd" 30 curl -fsS --max-time 2 "http://127.0.0.1:$HA_ETCD_PORT/health"
    start_node node1
    wait_for "a leader" 90 leader
    start_node node2
    alive haproxy || launch haproxy haproxy -db -f "$dir/haproxy.cfg"
    wait_for "a replica streaming through HAProxy, Patroni's synchronous standby" 120 streaming_sync
    wait_for "HAProxy's replica endpoint" 30 replica_endpoint
    track_postmasters
    superuser_psql "$HA_PRIMARY_PORT" postgres "SELECT 1 FROM pg_roles WHERE rolname = 'outpost'" | grep -q 1 \
        || superuser_psql "$HA_PRIMARY_PORT" postgres "CREATE ROLE outpost LOGIN PASSWORD '$HA_OUTPOST_PASSWORD'" >/dev/null
    superuser_psql "$HA_PRIMARY_PORT" postgres "SELECT 1 FROM pg_database WHERE datname = 'outpost'" | grep -q 1 \
        || superuser_psql "$HA_PRIMARY_PORT" postgres "CREATE DATABASE outpost OWNER outpost" >/dev/null
    echo "leader: $(leader)"
    echo "writes: postgres://outpost@127.0.0.1:$HA_PRIMARY_PORT/outpost (sslmode=verify-full, CA $HA_CA_FILE)"
    echo "reads:  postgres://outpost@127.0.0.1:$HA_REPLICA_PORT/outpost"
    echo "password and ports: $dir/env"
}

# Forgets a PID recorded for the test harness's reaper once its process has ended.
forget() { if [ -n "${TEST_HARNESS_PIDS_DIR:-}" ]; then rm -f "$TEST_HARNESS_PIDS_DIR/$1"; fi; }

# Patroni stops its PostgreSQL on SIGTERM; a postmaster left by a killed Patroni is ended
# through its own PID file.
stop() {
    [ -d "$dir" ] || return 0
    local name pid
    if [ -f "$dir/frozen.pid" ]; then kill -CONT "$(cat "$dir/frozen.pid")" 2>/dev/null || true; rm -f "$dir/frozen.pid"; fi
    local running=()
    for name in haproxy node2 node1; do
        if pid=$(pid_of $name); then
            kill -TERM "$pid" 2>/dev/null || true
            running+=("$name:$pid")
        elif [ -f "$dir/$name.pid" ]; then
            forget "$(cat "$dir/$name.pid")"
            rm -f "$dir/$name.pid"
        fi
    done
    for entry in "${running[@]}"; do
        name=${entry%%:*} pid=${entry#*:}
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$dir/$name.pid"
        forget "$pid"
    done
    for name in node1 node2; do
        pid=$(postmaster_pid $name) || continue
        if kill -0 "$pid" 2>/dev/null && grep -q "$dir/$name/data" "/proc/$pid/cmdline" 2>/dev/null; then
            kill -INT "$pid"
            for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        fi
    done
    if [ -f "$dir/postmasters" ]; then
        while read -r pid; do forget "$pid"; done <"$dir/postmasters"
        rm -f "$dir/postmasters"
    fi
    if pid=$(pid_of etcd); then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$dir/etcd.pid"
        forget "$pid"
    fi
}

walreceiver_pid() {
    local replica=$1 postmaster
    postmaster=$(postmaster_pid "$replica") || return 1
    pgrep -P "$postmaster" -f "walreceiver" | head -1
}

case $command in
    start) start "$@" ;;
    stop) stop ;;
    leader) load_env; leader ;;
    kill-leader)
        load_env
        node=$(leader) || die "no leader"
        postmaster=$(postmaster_pid "$node")
        patroni=$(pid_of "$node") || die "$node's Patroni is not running"
        kill -KILL "$patroni"
        kill -KILL "$postmaster"
        rm -f "$dir/$node.pid"
        forget "$patroni"
        forget "$postmaster"
        echo "$node"
        ;;
    start-node) load_env; start_node "${1:?node name}" ;;
    wait-streaming) load_env; wait_for "a replica streaming, Patroni's synchronous standby" "${1:-120}" streaming_sync; track_postmasters ;;
    freeze-replica)
        load_env
        node=$(leader) || die "no leader"
        replica=$([ "$node" = node1 ] && echo node2 || echo node1)
        pid=$(walreceiver_pid "$replica") || die "$replica has no WAL receiver"
        kill -STOP "$pid"
        echo "$pid" >"$dir/frozen.pid"
        echo "$replica walreceiver $pid"
        ;;
    thaw-replica)
        [ -f "$dir/frozen.pid" ] || die "no replica is frozen"
        kill -CONT "$(cat "$dir/frozen.pid")" 2>/dev/null || true
        rm -f "$dir/frozen.pid"
        ;;
    *) die "unknown command $command" ;;
esac
