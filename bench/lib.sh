# lib.sh: what the benchmarks in bench/ share. Sourced, never run: the caller sets the
# settings (DURATION, WARMUP, CLIENTS, STREAMS, MESSAGES, MESSAGE_BYTES, SERVER_CORE, IDLE_*,
# CLIENT_CORE, DO_INSTALL, DO_BUILD, BIN, KEEP, IDLE_WAIT) before calling these functions.
# shellcheck shell=bash disable=SC2034 # sets variables that the sourcing scripts read

die() {
    echo "error: $*" >&2
    exit 2
}

positive_int() { [[ $2 =~ ^[0-9]+$ && $2 -gt 0 ]] || die "$1 needs a positive integer, got '$2'"; }

# common_option ARGS...: one option both benchmarks take. Sets SHIFT to the words it used,
# 0 when $1 is not one of them. -s appends to the caller's custom_scenarios array.
common_option() {
    SHIFT=2
    case $1 in
    -d | --duration) positive_int "$1" "${2-}"; DURATION=$2 ;;
    -w | --warmup) [[ ${2-} =~ ^[0-9]+$ ]] || die "$1 needs a whole number of seconds"; WARMUP=$2 ;;
    -r | --reps) positive_int "$1" "${2-}"; REPS=$2 ;;
    -s | --scenario)
        case ${2-} in
        client-stream | bidi-sync) custom_scenarios+=("$2") ;;
        *) die "$1: client-stream or bidi-sync, got '${2-}'" ;;
        esac ;;
    --bin) [[ -x ${2-} ]] || die "$1: '${2-}' is not an executable"; BIN=$2; DO_BUILD=0 ;;
    --idle-wait) [[ ${2-} =~ ^[0-9]+$ ]] || die "$1 needs a whole number of seconds"; IDLE_WAIT=$2 ;;
    --no-build) DO_BUILD=0 SHIFT=1 ;;
    --no-install) DO_INSTALL=0 SHIFT=1 ;;
    --keep) KEEP=1 SHIFT=1 ;;
    *) SHIFT=0 ;;
    esac
}

# --- processes we started, ended by PID on any exit ------------------------------------------

SERVER_PID=""   # the server the next run measures (see use_server)
SERVER_PIDS=()  # every server started, all ended on exit
TOOL_PID=""
LOAD_PID=""     # soak-vs-h2load.sh --control's load on the generator's core
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
    local rc=$? pid
    trap - EXIT INT TERM
    stop_pid "$TOOL_PID" 3
    stop_pid "$LOAD_PID" 3
    for pid in "${SERVER_PIDS[@]}"; do
        stop_pid "$pid" 7 # the server's default --grace is 5s
    done
    if [[ -n $WORK && -d $WORK ]]; then
        if ((KEEP)); then echo "work directory kept: $WORK" >&2; else rm -rf -- "$WORK"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools ----------------------------------------------------------------------------------

ensure_tools() { # [COMMAND...]: installs the missing ones (default: all the benchmarks use)
    local wanted=("$@") missing=() pkg tool
    ((${#wanted[@]})) || wanted=(h2load curl jq taskset timeout)
    for tool in "${wanted[@]}"; do
        command -v "$tool" >/dev/null && continue
        case $tool in
        h2load) missing+=(nghttp2-client) ;;
        taskset | chrt) missing+=(util-linux) ;;
        timeout) missing+=(coreutils) ;;
        *) missing+=("$tool") ;;
        esac
    done
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
    if [[ " ${wanted[*]} " == *" curl "* ]]; then
        curl --version | grep -qi '^Features:.*HTTP2' ||
            die "this curl has no HTTP/2 support (needed for --http2-prior-knowledge)"
        curl --help all 2>/dev/null | grep -q -- '--http2-prior-knowledge' ||
            die "this curl has no --http2-prior-knowledge"
    fi
    taskset -c "$SERVER_CORE" true 2>/dev/null || die "cannot pin to core $SERVER_CORE"
    taskset -c "$CLIENT_CORE" true 2>/dev/null || die "cannot pin to core $CLIENT_CORE (this needs 2 cores)"
}

build() { # [CARGO_ARGS...]: cargo build --release with these (e.g. --example raw_echo)
    if [[ -z $BIN ]]; then
        BIN="${CARGO_TARGET_DIR:-$CRATE_DIR/target}/release/grpcstream"
        [[ $BIN = /* ]] || BIN="$CRATE_DIR/$BIN"
    fi
    if ((DO_BUILD)); then
        echo "building: (cd $CRATE_DIR && cargo build --release --bin grpcstream $*)" >&2
        (cd "$CRATE_DIR" && cargo build --release --bin grpcstream "$@") >&2
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

start_server() { # LOG [VAR=VALUE...] -- PROGRAM ARGS...: on the server core; sets SERVER_PID PORT SERVER_CMD
    local log=$1 env_args=(env) v i port=""
    shift
    # Settings from the caller's environment must not change the server under test.
    for v in $(compgen -e); do
        [[ $v == GRPCSTREAM_* || $v == RUST_LOG ]] && env_args+=(-u "$v")
    done
    while (($#)) && [[ $1 != -- ]]; do env_args+=("$1"); shift; done
    shift
    SERVER_CMD="taskset -c $SERVER_CORE ${env_args[*]} $*"
    : >"$log"
    # Appending (O_APPEND), so the log can be truncated between runs without holes.
    taskset -c "$SERVER_CORE" "${env_args[@]}" "$@" >/dev/null 2>>"$log" &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    for ((i = 0; i < 100; i++)); do
        port=$(grep -aom1 'listening on 127\.0\.0\.1:[0-9]*' "$log" | sed 's/.*://' || true)
        [[ -n $port ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; die "the server exited at start: $SERVER_CMD"; }
        sleep 0.1
    done
    [[ -n $port ]] || { cat "$log" >&2; die "no 'listening on 127.0.0.1:PORT' line within 10 s: $SERVER_CMD"; }
    PORT=$port
}

# The arguments of `grpcstream serve` under test: demo delays off, any free port.
SERVE_ARGS=(serve --listen 127.0.0.1 --port 0 --server-stream-interval 0s --async-delay 0s)
# warn: no per-RPC lines, but keep the start-up line that holds the port.
WARN_LOG=RUST_LOG=warn,grpcstream::serve=info

server_cpu_ticks() { # utime + stime of the whole server process, in clock ticks
    local stat rest fields
    stat=$(<"/proc/$SERVER_PID/stat")
    rest=${stat##*) }
    read -ra fields <<<"$rest"
    echo $((fields[11] + fields[12]))
}

server_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status"; }

pid_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

rss_kb() { pid_rss_kb "$SERVER_PID"; }

mib() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }

# hold_idle_streams LABEL: IDLE_STREAMS idle bidi-sync streams over IDLE_CONNECTIONS connections
# (IDLE_BIN, examples/idle_streams.rs, each stream after one checked echo) against the current
# server; sets IDLE_RESULT="base_kb open_kb after_kb per_stream_bytes".
hold_idle_streams() {
    local label=$1 base open after i
    sleep 1
    base=$(rss_kb)
    rm -f "$WORK/idle.in" && mkfifo "$WORK/idle.in"
    taskset -c "$CLIENT_CORE" timeout -k 5 180 "$IDLE_BIN" "127.0.0.1:$PORT" "$IDLE_STREAMS" \
        "$IDLE_CONNECTIONS" <"$WORK/idle.in" >"$WORK/idle.out" 2>"$WORK/idle.err" &
    TOOL_PID=$!
    exec 3>"$WORK/idle.in" # the tool's stdin: a line on it closes the streams
    for ((i = 0; i < 1200; i++)); do
        grep -q '^open$' "$WORK/idle.out" && break
        kill -0 "$TOOL_PID" 2>/dev/null || { cat "$WORK/idle.err" >&2; die "idle_streams failed against $label"; }
        sleep 0.1
    done
    grep -q '^open$' "$WORK/idle.out" || die "idle_streams did not open $IDLE_STREAMS streams within 120 s"
    sleep 2
    open=$(rss_kb)
    echo close >&3
    exec 3>&-
    run_tool || { cat "$WORK/idle.err" >&2; die "idle_streams failed while closing"; }
    # serve gives memory back within its 2-second check after a drop; allow three checks.
    sleep 6
    after=$(rss_kb)
    IDLE_RESULT="$base $open $after $(((open - base) * 1024 / IDLE_STREAMS))"
    echo "   $label: $(tr -d '\n' <"$WORK/idle.err"); RSS $(mib "$base") MiB before," \
        "$(mib "$open") MiB open, $(mib "$after") MiB 6 s after closing"
}

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

truncate_logs() { # the servers' logs grow by megabytes a second at the default level
    local log
    for log in "$WORK"/*.log; do [[ -e $log ]] && : >"$log"; done
    return 0
}

# Each run appends: scenario tool rep valid msgs_per_s calls_per_s tool_cpu_pct report_cpu_pct
# server_cpu_pct other_cpu_pct server_idle_pct note
record() { echo "$*" >>"$RESULTS"; }

measure_begin() {
    wait_idle
    RUN_BUSY0=$(cores_busy_ticks)
    children_cpu_s
    RUN_CPU0=$CHILDREN_CPU
    RUN_T0=$(now_s)
    RUN_TICKS0=$(server_cpu_ticks)
}

core_ticks() { # CORE: "idle total" clock ticks of that core so far
    awk -v c="cpu$1" '$1 == c { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# The share of time the server's core sat idle inside a run's measured window, from a second
# after the warm-up to a second before the end: start-up and drain left out. Under 1% the
# server was saturated: the rate is then its own, at whatever speed its core ran meanwhile.
window_begin() { # after the tool started; sets WINDOW_PID
    WINDOW_PID=""
    WINDOW_FILE="$WORK/window.idle"
    rm -f "$WINDOW_FILE"
    ((DURATION >= 4)) || return 0
    (
        sleep $((WARMUP + 1))
        a=$(core_ticks "$SERVER_CORE")
        sleep $((DURATION - 2))
        b=$(core_ticks "$SERVER_CORE")
        awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
            if (y[2] > x[2]) printf "%.1f\n", (y[1] - x[1]) * 100 / (y[2] - x[2]) }' >"$WINDOW_FILE"
    ) &
    WINDOW_PID=$!
}

window_end() { # after the tool ended; sets RUN_SERVER_IDLE_PCT ("-" when the window was cut short)
    RUN_SERVER_IDLE_PCT=-
    [[ -n $WINDOW_PID ]] || return 0
    # A tool that ended early leaves the sampler asleep: ours to stop, its sleep included.
    pkill -P "$WINDOW_PID" 2>/dev/null || true
    kill "$WINDOW_PID" 2>/dev/null || true
    wait "$WINDOW_PID" 2>/dev/null || true
    WINDOW_PID=""
    [[ -s $WINDOW_FILE ]] && RUN_SERVER_IDLE_PCT=$(<"$WINDOW_FILE")
    return 0
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

run_h2load() { # SCENARIO REP [LABEL]: h2load against the current server (PORT, SERVER_PID)
    local sc=$1 rep=$2 label=${3:-h2load} out="$WORK/${3:-h2load}-$1-$2.txt" rc=0 valid=1 note="" per_call want msgs calls
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
    window_begin
    run_tool || rc=$?
    window_end
    measure_end
    parse_h2load "$out"
    # Wire bytes per call (frame headers included; h2load 1.52 does not reset its "data"
    # counter after the warm-up, but "total" and "headers" are reset): at least the reply.
    per_call=$(((H2_TOTAL - H2_HEADERS) / (H2_DONE > 0 ? H2_DONE : 1)))
    if ((rc != 0)); then valid=0; note+=" exit $rc;"; fi
    # A call cut off by the end of -D can have its 2xx counted but not be done; one in flight
    # when the warm-up ends had its 2xx counted before h2load reset its counters and is done
    # after (nghttp2 issue #1523: off by up to -c x -m). So 2xx >= succeeded - c x m.
    if ((H2_SUCCEEDED == 0 || H2_BAD != 0 || H2_NON2XX != 0 || H2_2XX + CLIENTS * STREAMS < H2_SUCCEEDED)); then
        valid=0
        note+=" $H2_BAD failed/errored/timeout, $H2_NON2XX non-2xx, $H2_2XX 2xx for $H2_SUCCEEDED succeeded;"
    fi
    if ((per_call < want || per_call > want * 5 / 4)); then
        valid=0
        note+=" $per_call wire bytes per call, reply is $want;"
    fi
    msgs=$(awk -v s="$H2_SUCCEEDED" -v m="$MESSAGES" -v d="$DURATION" 'BEGIN {printf "%.0f", s * m / d}')
    calls=$(awk -v s="$H2_SUCCEEDED" -v d="$DURATION" 'BEGIN {printf "%.0f", s / d}')
    record "$sc $label $rep $valid $msgs $calls $RUN_TOOL_CPU_PCT - $RUN_SERVER_CPU_PCT $RUN_OTHER_CPU_PCT $RUN_SERVER_IDLE_PCT ${note:-ok: $H2_SUCCEEDED calls, $per_call wire bytes/call}"
    printf '  %-13s rep %d  %-13s %8s msgs/s %6s calls/s  h2load cpu %3s%%                     server %3s%% (idle %4s%%)  other %3s%%  %s\n' \
        "$sc" "$rep" "$label" "$msgs" "$calls" "$RUN_TOOL_CPU_PCT" "$RUN_SERVER_CPU_PCT" "$RUN_SERVER_IDLE_PCT" "$RUN_OTHER_CPU_PCT" \
        "${note:-ok ($per_call wire bytes/call)}"
}

run_soak() { # SCENARIO REP [LABEL]: soak against the current server (PORT, SERVER_PID)
    local sc=$1 rep=$2 label=${3:-soak} json="$WORK/${3:-soak}-$1-$2.json" rc=0 valid=1 note="" field vals
    local args=(soak --server "127.0.0.1:$PORT" --pattern "$sc" --messages-per-stream "$MESSAGES"
        --message-size "${MESSAGE_BYTES}B" --concurrency "$CONCURRENCY" --connections "$CLIENTS"
        --duration "${DURATION}s" --warmup "${WARMUP}s" --output json "$json")
    SOAK_CMD="taskset -c $CLIENT_CORE $BIN ${args[*]}"
    measure_begin
    # Bounded: the run, then at most soak's 5 s drain, then this margin.
    taskset -c "$CLIENT_CORE" timeout -k 5 $((DURATION + WARMUP + 30)) "$BIN" "${args[@]}" \
        >"$WORK/$label-$sc-$rep.txt" 2>"$WORK/$label-$sc-$rep.err" &
    TOOL_PID=$!
    window_begin
    run_tool || rc=$?
    window_end
    measure_end
    if [[ ! -s $json ]]; then
        cat "$WORK/$label-$sc-$rep.err" >&2
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
    record "$sc $label $rep $valid $msgs $calls $RUN_TOOL_CPU_PCT $report_cpu $RUN_SERVER_CPU_PCT $RUN_OTHER_CPU_PCT $RUN_SERVER_IDLE_PCT ${note:-ok: $total calls}"
    printf '  %-13s rep %d  %-13s %8s msgs/s %6s calls/s  soak   cpu %3s%% (report %3s%%/measured)  server %3s%% (idle %4s%%)  other %3s%%  %s\n' \
        "$sc" "$rep" "$label" "$msgs" "$calls" "$RUN_TOOL_CPU_PCT" "$report_cpu" "$RUN_SERVER_CPU_PCT" "$RUN_SERVER_IDLE_PCT" "$RUN_OTHER_CPU_PCT" \
        "${note:-ok}"
}

# --- the summary ----------------------------------------------------------------------------

stats_of() { # SCENARIO TOOL COLUMN [DIGITS]: "median min max" of the valid runs, or "- - -"
    awk -v sc="$1" -v tool="$2" -v col="$3" '$1 == sc && $2 == tool && $4 == 1 && $col != "-" { print $col }' "$RESULTS" |
        sort -g | awk -v f="%.${4:-0}f" '{ v[NR] = $1 } END {
            if (NR == 0) { print "- - -"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf f " " f " " f "\n", m, v[1], v[NR] }'
}

paired_median() { # SCENARIO TOOL_A TOOL_B COLUMN: the median over the repetitions of A / B
    # (valid runs only, the two runs of a rep back to back); "-" when no rep has both. This
    # machine's speed drifts by 10% over minutes: a ratio of two medians takes that drift in,
    # a ratio within each pair of neighbouring runs cancels most of it.
    awk -v sc="$1" -v a="$2" -v b="$3" -v col="$4" '
        $1 == sc && $4 == 1 && $col != "-" && $2 == a { va[$3] = $col }
        $1 == sc && $4 == 1 && $col != "-" && $2 == b { vb[$3] = $col }
        END { for (r in va) if ((r in vb) && vb[r] > 0) print va[r] / vb[r] }' "$RESULTS" |
        sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f\n", m }'
}

