#!/usr/bin/env bash
# soak-vs-h2load.sh: is `grpcstream soak` the bottleneck of its own benchmarks?
#
# Runs `grpcstream soak` and h2load (Debian's nghttp2-client) one after the other, interleaved,
# against the same `grpcstream serve` (demo delays off, pinned to one core; the load
# generators pinned to another), on client-stream and bidi-sync calls of 100 messages of
# 64 bytes, and prints soak msgs/s ÷ h2load msgs/s. Target: >= 1.0.
#
# "64 bytes" is the EchoRequest.message *string* (what soak's --message-size means), so each
# h2load request frame is 5 (gRPC prefix) + 2 (protobuf tag 0x0a, length 0x40) + 64 = 71 bytes.
#
# Messages per second, the same definition on both sides: request messages of successful calls
# per second of the measured window (warm-up excluded).
#   h2load:               succeeded calls x 100 / -D
#   soak, bidi-sync:      messages.received_per_s (one echo per request message)
#   soak, client-stream:  messages.sent_per_s (the reply is ONE summary per call, so soak's
#                         messages.received_per_s there counts calls, not messages)
#
# h2load counts any HTTP 200 as a success, even when grpc-status is not 0. So for every
# scenario the script checks with curl --http2-prior-knowledge that the trailers hold
# grpc-status 0 and that the reply has exactly the expected bytes, checks that an un-timed
# h2load -n run receives the same bytes per call, and repeats the curl check before each
# timed h2load run. A run whose checks fail is reported and left out of the medians.
#
# Usage: bench/soak-vs-h2load.sh [--quick] [options]   (--help for the options)

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRATE_DIR=$(cd "$SCRIPT_DIR/.." && pwd)

DURATION=10        # seconds measured per run (h2load -D, soak --duration)
WARMUP=1           # seconds of warm-up per run (h2load --warm-up-time, soak --warmup)
REPS=3             # interleaved repetitions per scenario and tool
SCENARIOS=(client-stream bidi-sync)
CLIENTS=8          # HTTP/2 connections (h2load -c, soak --connections)
STREAMS=8          # streams per connection (h2load -m); soak --concurrency = CLIENTS x STREAMS
MESSAGES=100       # messages per call
MESSAGE_BYTES=64   # bytes of each EchoRequest.message string
SERVER_CORE=0
CLIENT_CORE=1
SERVER_LOG=default # default: the server's own default level (info: one line per RPC); warn
DO_INSTALL=1
DO_BUILD=1
BIN=""
KEEP=0
IDLE_WAIT=0        # seconds to wait, before each run, for other processes to leave the two cores

usage() {
    cat <<EOF
Usage: ${0##*/} [options]

Compares \`grpcstream soak\` with h2load against one \`grpcstream serve\` per scenario on
127.0.0.1 (server on core $SERVER_CORE, load generator on core $CLIENT_CORE), and prints
soak msgs/s / h2load msgs/s per scenario. The default run takes about 2.5 minutes
(plus the release build when it is not up to date).

Options:
  -q, --quick            short run: --duration 3 --reps 1 (about 30 s)
  -d, --duration SECS    measured seconds per run (default $DURATION)
  -w, --warmup SECS      warm-up seconds per run, excluded from the results (default $WARMUP)
  -r, --reps N           interleaved repetitions per scenario and tool (default $REPS)
  -s, --scenario NAME    client-stream or bidi-sync; repeat for both (default: both)
  -c, --clients N        HTTP/2 connections (default $CLIENTS)
  -m, --streams N        concurrent streams per connection (default $STREAMS)
      --server-log LEVEL default (the server's info level: one log line per RPC) or
                         warn (RUST_LOG=warn,grpcstream::serve=info: no per-RPC lines)
      --server-core N    core for the server (default $SERVER_CORE)
      --client-core N    core for h2load and soak (default $CLIENT_CORE)
      --bin PATH         use this grpcstream binary; implies --no-build
      --no-build         do not run \`cargo build --release\`
      --no-install       do not apt-get install missing tools; fail instead
      --idle-wait SECS   before each run, wait up to SECS for the two cores to be idle
                         (other processes under 15% of a core over 1 s); default 0: do not wait.
                         Other load is measured and shown per run either way.
      --keep             keep the work directory (reports, logs, h2load outputs)
  -h, --help             this text
EOF
}

die() {
    echo "error: $*" >&2
    exit 2
}

positive_int() { [[ $2 =~ ^[0-9]+$ && $2 -gt 0 ]] || die "$1 needs a positive integer, got '$2'"; }

custom_scenarios=()
while (($#)); do
    case $1 in
    -q | --quick) DURATION=3 REPS=1 ;;
    -d | --duration) positive_int "$1" "${2-}"; DURATION=$2; shift ;;
    -w | --warmup) [[ ${2-} =~ ^[0-9]+$ ]] || die "$1 needs a whole number of seconds"; WARMUP=$2; shift ;;
    -r | --reps) positive_int "$1" "${2-}"; REPS=$2; shift ;;
    -s | --scenario)
        case ${2-} in
        client-stream | bidi-sync) custom_scenarios+=("$2") ;;
        *) die "$1: client-stream or bidi-sync, got '${2-}'" ;;
        esac
        shift ;;
    -c | --clients) positive_int "$1" "${2-}"; CLIENTS=$2; shift ;;
    -m | --streams) positive_int "$1" "${2-}"; STREAMS=$2; shift ;;
    --server-log)
        case ${2-} in
        default | warn) SERVER_LOG=$2 ;;
        *) die "$1: default or warn, got '${2-}'" ;;
        esac
        shift ;;
    --server-core) [[ ${2-} =~ ^[0-9]+$ ]] || die "$1 needs a core number"; SERVER_CORE=$2; shift ;;
    --client-core) [[ ${2-} =~ ^[0-9]+$ ]] || die "$1 needs a core number"; CLIENT_CORE=$2; shift ;;
    --bin) [[ -x ${2-} ]] || die "$1: '${2-}' is not an executable"; BIN=$2; DO_BUILD=0; shift ;;
    --no-build) DO_BUILD=0 ;;
    --no-install) DO_INSTALL=0 ;;
    --keep) KEEP=1 ;;
    --idle-wait) [[ ${2-} =~ ^[0-9]+$ ]] || die "$1 needs a whole number of seconds"; IDLE_WAIT=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
    esac
    shift
done
((${#custom_scenarios[@]})) && SCENARIOS=("${custom_scenarios[@]}")
CONCURRENCY=$((CLIENTS * STREAMS))

# --- processes we started, ended by PID on any exit ------------------------------------------

SERVER_PID=""
TOOL_PID=""
WORK=""

stop_pid() { # PID SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL
    local pid=$1 waited=0
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && ((waited < $2 * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$TOOL_PID" 3
    stop_pid "$SERVER_PID" 7 # the server's default --grace is 5s
    if [[ -n $WORK && -d $WORK ]]; then
        if ((KEEP)); then echo "work directory kept: $WORK" >&2; else rm -rf -- "$WORK"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools ----------------------------------------------------------------------------------

ensure_tools() {
    local missing=() pkg
    command -v h2load >/dev/null || missing+=(nghttp2-client)
    command -v curl >/dev/null || missing+=(curl)
    command -v jq >/dev/null || missing+=(jq)
    command -v taskset >/dev/null || missing+=(util-linux)
    command -v timeout >/dev/null || missing+=(coreutils)
    if ((${#missing[@]})); then
        ((DO_INSTALL)) || die "missing: ${missing[*]} (apt-get install -y ${missing[*]})"
        command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
        local sudo=()
        ((EUID == 0)) || sudo=(sudo)
        for pkg in "${missing[@]}"; do
            if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]'; then
                echo "apt has no candidate for $pkg yet: apt-get update" >&2
                "${sudo[@]}" apt-get update -qq
                break
            fi
        done
        for pkg in "${missing[@]}"; do
            apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]' ||
                die "apt cannot install $pkg (no candidate in apt-cache policy)"
        done
        echo "installing: ${missing[*]}" >&2
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >&2
    fi
    curl --version | grep -qi '^Features:.*HTTP2' ||
        die "this curl has no HTTP/2 support (needed for --http2-prior-knowledge)"
    curl --help all 2>/dev/null | grep -q -- '--http2-prior-knowledge' ||
        die "this curl has no --http2-prior-knowledge"
    taskset -c "$SERVER_CORE" true 2>/dev/null || die "cannot pin to core $SERVER_CORE"
    taskset -c "$CLIENT_CORE" true 2>/dev/null || die "cannot pin to core $CLIENT_CORE (this needs 2 cores)"
}

build() {
    if [[ -z $BIN ]]; then
        BIN="${CARGO_TARGET_DIR:-$CRATE_DIR/target}/release/grpcstream"
        [[ $BIN = /* ]] || BIN="$CRATE_DIR/$BIN"
    fi
    if ((DO_BUILD)); then
        echo "building: (cd $CRATE_DIR && cargo build --release)" >&2
        (cd "$CRATE_DIR" && cargo build --release) >&2
    fi
    [[ -x $BIN ]] || die "no binary at $BIN (build it, or pass --bin)"
}

# --- the request body and the replies it must get -------------------------------------------

varint_len() { # bytes of a protobuf varint
    local n=$1 len=1
    while ((n >= 128)); do n=$((n >> 7)); len=$((len + 1)); done
    echo "$len"
}

message_bytes() { # bytes of a gRPC frame holding EchoRequest/EchoResponse{message: STRING_LEN bytes}
    echo $((5 + 1 + $(varint_len "$1") + $1))
}

make_body() { # FILE: MESSAGES gRPC frames, each EchoRequest{message=<MESSAGE_BYTES ASCII bytes>}
    local msg proto_len i hex
    msg=$(printf "h2load-%0$((MESSAGE_BYTES - 7))d" 0)
    ((${#msg} == MESSAGE_BYTES)) || die "message of ${#msg} bytes, wanted $MESSAGE_BYTES"
    ((MESSAGE_BYTES < 128)) || die "--message-bytes must stay below 128 (one-byte varint here)"
    proto_len=$((2 + MESSAGE_BYTES)) # 0x0a, length, string
    hex=$(printf '\\x00\\x%02x\\x%02x\\x%02x\\x%02x\\x0a\\x%02x' \
        $((proto_len >> 24 & 255)) $((proto_len >> 16 & 255)) $((proto_len >> 8 & 255)) \
        $((proto_len & 255)) "$MESSAGE_BYTES")
    : >"$1"
    for ((i = 0; i < MESSAGES; i++)); do
        # shellcheck disable=SC2059 # the format is the frame prefix, built above
        printf "$hex%s" "$msg" >>"$1"
    done
    local want=$((MESSAGES * (5 + proto_len)))
    [[ $(wc -c <"$1") -eq $want ]] || die "body is not $want bytes"
}

rpc_path() {
    case $1 in
    client-stream) echo /api.stream.v1.EchoService/EchoClientStream ;;
    bidi-sync) echo /api.stream.v1.EchoService/EchoBidirectionalStreamSync ;;
    esac
}

expected_reply_bytes() { # response body bytes per call, from the reply contract in README.md
    case $1 in
    bidi-sync) # MESSAGES x `Sync Echo: <message>`
        echo $((MESSAGES * $(message_bytes $((11 + MESSAGE_BYTES))))) ;;
    client-stream) # one `Received N messages: ['m', 'm', ...]`
        local s=$((9 + ${#MESSAGES} + 12 + MESSAGES * (MESSAGE_BYTES + 2) + 2 * (MESSAGES - 1) + 1))
        message_bytes "$s" ;;
    esac
}

# --- the server -----------------------------------------------------------------------------

start_server() {
    local env_args=(env) v i port=""
    # Settings from the caller's environment must not change the server under test.
    for v in $(compgen -e); do
        [[ $v == GRPCSTREAM_* || $v == RUST_LOG ]] && env_args+=(-u "$v")
    done
    # warn: no per-RPC lines, but keep the start-up line that holds the port.
    [[ $SERVER_LOG == warn ]] && env_args+=("RUST_LOG=warn,grpcstream::serve=info")
    SERVER_CMD="taskset -c $SERVER_CORE ${env_args[*]} $BIN serve --listen 127.0.0.1 --port 0 --server-stream-interval 0s --async-delay 0s"
    : >"$SLOG"
    # Appending (O_APPEND), so the log can be truncated between runs without holes.
    taskset -c "$SERVER_CORE" "${env_args[@]}" "$BIN" serve --listen 127.0.0.1 --port 0 \
        --server-stream-interval 0s --async-delay 0s >/dev/null 2>>"$SLOG" &
    SERVER_PID=$!
    for ((i = 0; i < 100; i++)); do
        port=$(grep -aom1 'listening on 127\.0\.0\.1:[0-9]*' "$SLOG" | sed 's/.*://' || true)
        [[ -n $port ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SLOG" >&2; die "the server exited at start"; }
        sleep 0.1
    done
    [[ -n $port ]] || { cat "$SLOG" >&2; die "no 'listening on 127.0.0.1:PORT' line within 10 s"; }
    PORT=$port
}

server_cpu_ticks() { # utime + stime of the whole server process, in clock ticks
    local stat rest fields
    stat=$(<"/proc/$SERVER_PID/stat")
    rest=${stat##*) }
    read -ra fields <<<"$rest"
    echo $((fields[11] + fields[12]))
}

server_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status"; }

# --- checks ---------------------------------------------------------------------------------

curl_check() { # SCENARIO: 0 when grpc-status 0 and exactly the expected reply bytes
    local sc=$1 url code size status want count
    url="http://127.0.0.1:$PORT$(rpc_path "$sc")"
    want=$(expected_reply_bytes "$sc")
    read -r code size < <(curl -sS --http2-prior-knowledge --max-time 10 -X POST \
        -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @"$BODY" \
        -D "$WORK/curl.headers" -o "$WORK/curl.body" -w '%{http_code} %{size_download}\n' "$url" ||
        echo "000 0")
    status=$(tr -d '\r' <"$WORK/curl.headers" | awk -F': *' 'tolower($1) == "grpc-status" {s = $2} END {print s}')
    case $sc in
    bidi-sync) count=$(grep -ao 'Sync Echo: h2load-' "$WORK/curl.body" | wc -l) ;;
    client-stream) count=$(grep -ao "Received $MESSAGES messages: \['h2load-" "$WORK/curl.body" | wc -l) ;;
    esac
    CURL_LINE="curl: HTTP $code, grpc-status ${status:-<none>}, $size bytes per call (expected $want), $count $( [[ $sc == bidi-sync ]] && echo "'Sync Echo: ' replies" || echo "'Received $MESSAGES messages' summary")"
    [[ $code == 200 && $status == 0 && $size == "$want" ]] &&
        { [[ $sc == bidi-sync && $count == "$MESSAGES" ]] || [[ $sc == client-stream && $count == 1 ]]; }
}

h2load_args() { # SCENARIO: the common h2load arguments
    H2ARGS=(-c "$CLIENTS" -m "$STREAMS" -d "$BODY" -H 'content-type: application/grpc' -H 'te: trailers'
        "http://127.0.0.1:$PORT$(rpc_path "$1")")
}

parse_h2load() { # FILE: sets H2_SUCCEEDED H2_DONE H2_BAD H2_2XX H2_NON2XX H2_TOTAL H2_HEADERS H2_DATA
    local file=$1 nums
    read -r H2_DONE H2_SUCCEEDED H2_BAD < <(awk '/^requests:/ {
        for (i = 2; i < NF; i += 2) { v[$(i + 1)] = $i }
        print v["done,"] + 0, v["succeeded,"] + 0, v["failed,"] + v["errored,"] + v["timeout"]
    }' "$file")
    read -r H2_2XX H2_NON2XX < <(awk '/^status codes:/ {print $3 + 0, $5 + $7 + $9}' "$file")
    nums=$(grep -a '^traffic:' "$file" | grep -o '([0-9]*)' | tr -d '()' | tr '\n' ' ')
    read -r H2_TOTAL H2_HEADERS H2_DATA <<<"$nums"
    [[ -n ${H2_DONE-} && -n ${H2_DATA-} ]] || { cat "$file" >&2; die "cannot read h2load's output $file"; }
}

h2load_check() { # SCENARIO: an un-timed run (-n, no warm-up) must get exactly curl's bytes per call
    local sc=$1 n=$CONCURRENCY want
    want=$(expected_reply_bytes "$sc")
    h2load_args "$sc"
    taskset -c "$CLIENT_CORE" timeout 30 h2load -n "$n" "${H2ARGS[@]}" >"$WORK/h2load-check.txt" 2>&1 || true
    parse_h2load "$WORK/h2load-check.txt"
    H2CHECK_LINE="h2load -n $n: $H2_SUCCEEDED/$n succeeded, $H2_2XX 2xx, $((H2_DATA / (H2_DONE > 0 ? H2_DONE : 1))) data bytes per call (expected $want)"
    [[ $H2_SUCCEEDED == "$n" && $H2_BAD == 0 && $H2_DATA == $((n * want)) ]]
}

# --- runs -----------------------------------------------------------------------------------

children_cpu_s() { # sets CHILDREN_CPU: user + system seconds of the children this shell reaped
    # Called directly, never in $(...): a subshell would report its own children, not ours.
    times >"$WORK/times"
    CHILDREN_CPU=$(awk 'NR == 2 { t = 0
        for (i = 1; i <= 2; i++) { split($i, p, "m"); sub(/s$/, "", p[2]); t += p[1] * 60 + p[2] }
        print t }' "$WORK/times")
}

cores_busy_ticks() { # busy clock ticks of the server's and the generator's cores, summed
    awk -v a="cpu$SERVER_CORE" -v b="cpu$CLIENT_CORE" '$1 == a || $1 == b { t += $2 + $3 + $4 + $7 + $8 + $9 }
        END { print t }' /proc/stat
}

wait_idle() { # up to IDLE_WAIT seconds for other processes to leave the two cores alone
    ((IDLE_WAIT > 0)) || return 0
    local start=$SECONDS b0 b1 busy
    while :; do
        b0=$(cores_busy_ticks)
        sleep 1
        b1=$(cores_busy_ticks)
        busy=$(((b1 - b0) * 100 / CLK_TCK)) # % of one core, our idle server included
        ((busy < 15)) && return 0
        if ((SECONDS - start >= IDLE_WAIT)); then
            echo "  (other processes still use ${busy}% of a core after ${IDLE_WAIT}s: running anyway)"
            return 0
        fi
    done
}

now_s() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }

# Each run appends: scenario tool rep valid msgs_per_s calls_per_s tool_cpu_pct report_cpu_pct
# server_cpu_pct other_cpu_pct note
record() { echo "$*" >>"$RESULTS"; }

measure_begin() {
    wait_idle
    RUN_BUSY0=$(cores_busy_ticks)
    children_cpu_s
    RUN_CPU0=$CHILDREN_CPU
    RUN_T0=$(now_s)
    RUN_TICKS0=$(server_cpu_ticks)
}

measure_end() { # sets RUN_TOOL_CPU_PCT RUN_SERVER_CPU_PCT RUN_OTHER_CPU_PCT
    local t1 ticks1 cpu1 busy1
    ticks1=$(server_cpu_ticks)
    busy1=$(cores_busy_ticks)
    t1=$(now_s)
    children_cpu_s
    cpu1=$CHILDREN_CPU
    # Other = everything else busy on the two cores: other processes, interrupts, this script.
    read -r RUN_TOOL_CPU_PCT RUN_SERVER_CPU_PCT RUN_OTHER_CPU_PCT < <(awk -v c0="$RUN_CPU0" -v c1="$cpu1" \
        -v t0="$RUN_T0" -v t1="$t1" -v k0="$RUN_TICKS0" -v k1="$ticks1" -v b0="$RUN_BUSY0" -v b1="$busy1" \
        -v hz="$CLK_TCK" 'BEGIN { w = t1 - t0; tool = (c1 - c0) / w * 100; srv = (k1 - k0) / hz / w * 100
            other = (b1 - b0) / hz / w * 100 - tool - srv
            printf "%.0f %.0f %.0f\n", tool, srv, (other < 0 ? 0 : other) }')
}

run_tool() { # wait for the tool started in the background, bounded by its own timeout
    local rc=0
    wait "$TOOL_PID" || rc=$?
    TOOL_PID=""
    return "$rc"
}

run_h2load() { # SCENARIO REP
    local sc=$1 rep=$2 out="$WORK/h2load-$1-$2.txt" rc=0 valid=1 note="" per_call want msgs calls
    want=$(expected_reply_bytes "$sc")
    curl_check "$sc" || { valid=0; note="curl check failed: $CURL_LINE"; }
    h2load_args "$sc"
    H2_CMD="taskset -c $CLIENT_CORE h2load -c $CLIENTS -m $STREAMS -D $DURATION --warm-up-time=$WARMUP -d $BODY -H 'content-type: application/grpc' -H 'te: trailers' http://127.0.0.1:$PORT$(rpc_path "$sc")"
    local warm=()
    ((WARMUP > 0)) && warm=(--warm-up-time="$WARMUP")
    measure_begin
    taskset -c "$CLIENT_CORE" timeout -k 5 $((DURATION + WARMUP + 30)) \
        h2load -D "$DURATION" "${warm[@]}" "${H2ARGS[@]}" >"$out" 2>&1 &
    TOOL_PID=$!
    run_tool || rc=$?
    measure_end
    parse_h2load "$out"
    # Wire bytes per call (frame headers included; h2load 1.52 does not reset its "data"
    # counter after the warm-up, but "total" and "headers" are reset): at least the reply.
    per_call=$(((H2_TOTAL - H2_HEADERS) / (H2_DONE > 0 ? H2_DONE : 1)))
    if ((rc != 0)); then valid=0; note+=" exit $rc;"; fi
    # A call cut off by the end of -D can have its 2xx counted but not be done: 2xx >= done.
    if ((H2_SUCCEEDED == 0 || H2_BAD != 0 || H2_NON2XX != 0 || H2_2XX < H2_SUCCEEDED)); then
        valid=0
        note+=" $H2_BAD failed/errored/timeout, $H2_NON2XX non-2xx, $H2_2XX 2xx for $H2_SUCCEEDED succeeded;"
    fi
    if ((per_call < want || per_call > want * 5 / 4)); then
        valid=0
        note+=" $per_call wire bytes per call, reply is $want;"
    fi
    msgs=$(awk -v s="$H2_SUCCEEDED" -v m="$MESSAGES" -v d="$DURATION" 'BEGIN {printf "%.0f", s * m / d}')
    calls=$(awk -v s="$H2_SUCCEEDED" -v d="$DURATION" 'BEGIN {printf "%.0f", s / d}')
    record "$sc h2load $rep $valid $msgs $calls $RUN_TOOL_CPU_PCT - $RUN_SERVER_CPU_PCT $RUN_OTHER_CPU_PCT ${note:-ok: $H2_SUCCEEDED calls, $per_call wire bytes/call}"
    printf '  %-13s rep %d  h2load %8s msgs/s %6s calls/s  h2load cpu %3s%%                     server %3s%%  other %3s%%  %s\n' \
        "$sc" "$rep" "$msgs" "$calls" "$RUN_TOOL_CPU_PCT" "$RUN_SERVER_CPU_PCT" "$RUN_OTHER_CPU_PCT" \
        "${note:-ok ($per_call wire bytes/call)}"
}

run_soak() { # SCENARIO REP
    local sc=$1 rep=$2 json="$WORK/soak-$1-$2.json" rc=0 valid=1 note="" field vals
    local args=(soak --server "127.0.0.1:$PORT" --pattern "$sc" --messages-per-stream "$MESSAGES"
        --message-size "${MESSAGE_BYTES}B" --concurrency "$CONCURRENCY" --connections "$CLIENTS"
        --duration "${DURATION}s" --warmup "${WARMUP}s" --output json "$json")
    SOAK_CMD="taskset -c $CLIENT_CORE $BIN ${args[*]}"
    measure_begin
    # Bounded: the run, then at most soak's 5 s drain, then this margin.
    taskset -c "$CLIENT_CORE" timeout -k 5 $((DURATION + WARMUP + 30)) "$BIN" "${args[@]}" \
        >"$WORK/soak-$sc-$rep.txt" 2>"$WORK/soak-$sc-$rep.err" &
    TOOL_PID=$!
    run_tool || rc=$?
    measure_end
    if [[ ! -s $json ]]; then
        cat "$WORK/soak-$sc-$rep.err" >&2
        die "soak wrote no report (exit $rc)"
    fi
    # client-stream gets one summary per call: count the request messages it carried.
    field=received_per_s
    [[ $sc == client-stream ]] && field=sent_per_s
    vals=$(jq -r --arg f "$field" '[
        (.messages[$f] | round), (.calls.per_s | round),
        ((.client.cpu_user_s + .client.cpu_system_s) / .measured_s * 100 | round),
        .calls.failed, (.integrity | .lost + .duplicated + .reordered + .corrupted), .calls.total
    ] | map(tostring) | join(" ")' "$json")
    local msgs calls report_cpu failed broken total
    read -r msgs calls report_cpu failed broken total <<<"$vals"
    if ((rc != 0)); then valid=0; note+=" exit $rc;"; fi
    if ((failed != 0 || broken != 0 || total == 0)); then
        valid=0
        note+=" $failed of $total calls failed, $broken integrity errors;"
    fi
    record "$sc soak $rep $valid $msgs $calls $RUN_TOOL_CPU_PCT $report_cpu $RUN_SERVER_CPU_PCT $RUN_OTHER_CPU_PCT ${note:-ok: $total calls}"
    printf '  %-13s rep %d  soak   %8s msgs/s %6s calls/s  soak   cpu %3s%% (report %3s%%/measured)  server %3s%%  other %3s%%  %s\n' \
        "$sc" "$rep" "$msgs" "$calls" "$RUN_TOOL_CPU_PCT" "$report_cpu" "$RUN_SERVER_CPU_PCT" "$RUN_OTHER_CPU_PCT" \
        "${note:-ok}"
}

# --- the summary ----------------------------------------------------------------------------

stats_of() { # SCENARIO TOOL COLUMN: "median min max" of the valid runs, or "- - -"
    awk -v sc="$1" -v tool="$2" -v col="$3" '$1 == sc && $2 == tool && $4 == 1 && $col != "-" { print $col }' "$RESULTS" |
        sort -g | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "- - -"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.0f %.0f %.0f\n", m, v[1], v[NR] }'
}

summary() {
    local sc h2 sk cpu scpu_h scpu_s other ratio invalid busy
    echo
    echo "soak vs h2load: $DURATION s measured + $WARMUP s warm-up per run, $REPS interleaved reps," \
        "$CLIENTS connections x $STREAMS streams, $MESSAGES x ${MESSAGE_BYTES}-byte messages per call"
    echo "server on core $SERVER_CORE (logs: $SERVER_LOG), load generator on core $CLIENT_CORE;" \
        "msgs/s = request messages of successful calls per measured second"
    echo
    printf '%-13s  %-29s  %-29s  %5s  %-8s  %-13s  %-11s  %s\n' scenario "h2load msgs/s median (min-max)" \
        "soak msgs/s median (min-max)" ratio "soak cpu" "server cpu h/s" "other cpu" "server peak RSS"
    for sc in "${SCENARIOS[@]}"; do
        read -r -a h2 <<<"$(stats_of "$sc" h2load 5)"
        read -r -a sk <<<"$(stats_of "$sc" soak 5)"
        read -r -a cpu <<<"$(stats_of "$sc" soak 8)"
        read -r -a scpu_h <<<"$(stats_of "$sc" h2load 9)"
        read -r -a scpu_s <<<"$(stats_of "$sc" soak 9)"
        other=$(awk -v sc="$sc" '$1 == sc && $10 > m { m = $10 } END { print m + 0 }' "$RESULTS")
        ratio=$(awk -v s="${sk[0]}" -v h="${h2[0]}" 'BEGIN { if (h + 0 > 0 && s != "-") printf "%.2f", s / h; else print "-" }')
        printf '%-13s  %-29s  %-29s  %5s  %-8s  %-13s  %-11s  %s\n' "$sc" \
            "${h2[0]} (${h2[1]}-${h2[2]})" "${sk[0]} (${sk[1]}-${sk[2]})" "$ratio" \
            "${cpu[0]}%" "${scpu_h[0]}% / ${scpu_s[0]}%" "max ${other}%" "${HWM[$sc]} MiB"
    done
    echo
    echo "ratio = soak median / h2load median (target >= 1.0)."
    echo "soak cpu = (client.cpu_user_s + client.cpu_system_s) / measured_s from soak's report (median, % of one"
    echo "  core); getrusage covers the whole process (start-up, warm-up, drain), so it overstates the window."
    echo "server cpu h/s = the server's CPU over the h2load runs / over the soak runs (median; 100% = its core)."
    echo "other cpu = CPU on the two cores used by neither the server nor the tool during a run (highest run)."
    echo "server peak RSS = VmHWM of the scenario's server process after all its runs (both tools)."
    busy=$(awk '$10 > 20' "$RESULTS")
    if [[ -n $busy ]]; then
        echo
        echo "WARNING: other processes took over 20% of a core during these runs; their numbers are not"
        echo "trustworthy (try --idle-wait 120 on a quieter machine):"
        echo "$busy" | awk '{ printf "  %s %s rep %s: other %s%%\n", $1, $2, $3, $10 }'
    fi
    for sc in "${SCENARIOS[@]}"; do
        invalid=$(awk -v sc="$sc" '$1 == sc && $4 != 1' "$RESULTS")
        [[ -z $invalid ]] || { echo "INVALID runs left out for $sc:"; echo "$invalid"; }
    done
}

# --- main -----------------------------------------------------------------------------------

ensure_tools
build
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-vs-h2load.XXXXXX")
BODY="$WORK/body.bin"
SLOG="$WORK/server.log"
RESULTS="$WORK/results.txt"
: >"$RESULTS"
CLK_TCK=$(getconf CLK_TCK)
declare -A HWM=()
make_body "$BODY"

echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
echo "tools: $(h2load --version 2>&1 | head -1), $(curl --version | head -1 | cut -d' ' -f1-2), $("$BIN" --version 2>/dev/null || echo grpcstream), commit $(git -C "$CRATE_DIR" rev-parse --short HEAD 2>/dev/null || echo -)$( [[ -n $(git -C "$CRATE_DIR" status --porcelain --untracked-files=no 2>/dev/null) ]] && echo '+dirty')"
echo "body: $MESSAGES frames x $(message_bytes "$MESSAGE_BYTES") bytes = $(wc -c <"$BODY") bytes (each EchoRequest.message is a ${MESSAGE_BYTES}-byte string, protobuf $((MESSAGE_BYTES + 2)) bytes)"

for sc in "${SCENARIOS[@]}"; do
    start_server
    echo
    echo "== $sc: server pid $SERVER_PID on 127.0.0.1:$PORT"
    echo "   server: $SERVER_CMD"
    curl_check "$sc" || die "$sc: $CURL_LINE; h2load numbers would not be trustworthy"
    echo "   verify $CURL_LINE; trailers: $(tr -d '\r' <"$WORK/curl.headers" | grep -ai '^grpc-' | tr '\n' ' ')"
    h2load_check "$sc" || die "$sc: $H2CHECK_LINE"
    echo "   verify $H2CHECK_LINE"
    : >"$SLOG"
    for ((rep = 1; rep <= REPS; rep++)); do
        # Alternate which tool goes first, so a drift of the machine favours neither.
        if ((rep % 2)); then
            run_h2load "$sc" "$rep"; : >"$SLOG"
            run_soak "$sc" "$rep"; : >"$SLOG"
        else
            run_soak "$sc" "$rep"; : >"$SLOG"
            run_h2load "$sc" "$rep"; : >"$SLOG"
        fi
    done
    echo "   h2load: $H2_CMD"
    echo "   soak:   $SOAK_CMD"
    HWM[$sc]=$(awk -v kb="$(server_hwm_kb)" 'BEGIN {printf "%.1f", kb / 1024}')
    stop_pid "$SERVER_PID" 7
    SERVER_PID=""
done

summary
