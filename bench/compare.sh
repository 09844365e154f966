#!/usr/bin/env bash
# compare.sh: is `grpcstream serve` at the framework's ceiling, and `soak` faster than h2load?
#
# Builds release (grpcstream and the examples raw_echo and idle_streams) and measures, in one
# run, side by side on this machine:
#  1. Throughput: h2load against examples/raw_echo.rs (a minimal tonic echo of the same
#     proto: the ceiling), against `grpcstream serve` at its default log level (one line per
#     RPC) and at warn, and `grpcstream soak` against serve; client-stream and bidi-sync calls
#     of 100 x 64-byte messages, 8 connections x 8 streams, servers pinned to one core and
#     the load generator to the other, interleaved repetitions. Medians, min-max, the ratios
#     the performance targets name (soak / h2load: the median of each rep's pair of runs,
#     back to back, with how long serve's core idled in each tool's measured window), and
#     each server's peak RSS (VmHWM).
#  2. Idle streams: server RSS per idle bidi-sync stream with 10,000 of them open over 10
#     connections (each after one echo), and RSS after they all close, raw_echo and serve.
#  3. Ping-pong: one bidi-sync stream, one 64-byte message at a time: p50 and p99 round trip
#     (measured by soak), raw_echo and serve.
#  4. Start-up: from exec to the first accepted TCP connection, serve and raw_echo.
#
# Message counting, the h2load checks (grpc-status in trailers, bytes per call) and the CPU
# columns are those of soak-vs-h2load.sh; see its header.
#
# Usage: bench/compare.sh [--quick] [options]   (--help for the options)

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRATE_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

DURATION=10        # seconds measured per throughput run
WARMUP=1           # seconds of warm-up per throughput run
REPS=3             # interleaved repetitions
SCENARIOS=(client-stream bidi-sync)
CLIENTS=8
STREAMS=8
MESSAGES=100
MESSAGE_BYTES=64
SERVER_CORE=0
CLIENT_CORE=1
IDLE_STREAMS=10000 # idle streams held open
IDLE_CONNECTIONS=10
PING_SECONDS=3     # measured seconds per ping-pong run
PING_REPS=16       # ping-pong runs per server, raw and serve back to back in each rep: one run's
                   # p99 varies by ±10% here and the machine's speed drifts over minutes, so the
                   # verdict is the median of the reps' serve/raw ratios, not a ratio of medians
STARTS=10          # start-up measurements per server
DO_INSTALL=1
DO_BUILD=1
BIN=""
KEEP=0
IDLE_WAIT=0

usage() {
    cat <<EOF
Usage: ${0##*/} [options]

Measures raw_echo (the ceiling), \`grpcstream serve\` (default logging and warn) and
\`grpcstream soak\` side by side on 127.0.0.1: throughput (server on core $SERVER_CORE, h2load
or soak on core $CLIENT_CORE), memory per idle stream, ping-pong latency and start-up time.
The default run takes about 8 minutes (plus the release build when it is not up to date).

Options:
  -q, --quick            short run: --duration 3 --reps 1, 2,000 idle streams, 2 s ping-pong,
                         5 starts (about 1.5 minutes)
  -d, --duration SECS    measured seconds per throughput run (default $DURATION)
  -w, --warmup SECS      warm-up seconds per throughput run (default $WARMUP)
  -r, --reps N           interleaved repetitions (default $REPS)
  -s, --scenario NAME    client-stream or bidi-sync; repeat for both (default: both)
      --idle-streams N   idle streams to hold open (default $IDLE_STREAMS, over $IDLE_CONNECTIONS connections)
      --bin PATH         use this grpcstream binary (raw_echo and idle_streams from PATH's
                         directory/examples); implies --no-build
      --no-build         do not run \`cargo build --release\`
      --no-install       do not apt-get install missing tools; fail instead
      --idle-wait SECS   before each throughput run, wait up to SECS for the two cores to be idle
      --keep             keep the work directory (reports, logs, outputs)
  -h, --help             this text
EOF
}

custom_scenarios=()
while (($#)); do
    common_option "$@"
    if ((SHIFT)); then shift "$SHIFT"; continue; fi
    case $1 in
    -q | --quick) DURATION=3 REPS=1 IDLE_STREAMS=2000 PING_SECONDS=2 PING_REPS=2 STARTS=5 ;;
    --idle-streams) positive_int "$1" "${2-}"; IDLE_STREAMS=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
    esac
    shift
done
((${#custom_scenarios[@]})) && SCENARIOS=("${custom_scenarios[@]}")
CONCURRENCY=$((CLIENTS * STREAMS))

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- servers by label -----------------------------------------------------------------------

declare -A PIDS=() PORTS=()

start_labelled() { # LABEL: raw, serve (default log level) or warn (serve at warn)
    case $1 in
    raw) start_server "$WORK/$1.log" -- "$RAW_BIN" 0 ;;
    serve) start_server "$WORK/$1.log" -- "$BIN" "${SERVE_ARGS[@]}" ;;
    warn) start_server "$WORK/$1.log" "$WARN_LOG" -- "$BIN" "${SERVE_ARGS[@]}" ;;
    esac
    PIDS[$1]=$SERVER_PID
    PORTS[$1]=$PORT
    CMDS[$1]=$SERVER_CMD
}

use_server() { SERVER_PID=${PIDS[$1]}; PORT=${PORTS[$1]}; }

stop_labelled() { stop_pid "${PIDS[$1]}" 7; }

# --- 1. throughput --------------------------------------------------------------------------

declare -A CMDS=() HWM=()

throughput() { # SCENARIO
    local sc=$1 label rep i order
    local labels=(raw serve warn)
    for label in "${labels[@]}"; do
        start_labelled "$label"
        curl_check "$sc" || die "$sc against $label: $CURL_LINE"
        h2load_check "$sc" || die "$sc against $label: $H2CHECK_LINE"
    done
    echo
    echo "== throughput, $sc: raw_echo pid ${PIDS[raw]}, serve pid ${PIDS[serve]}, serve at warn pid ${PIDS[warn]}"
    echo "   verified on each: $CURL_LINE; $H2CHECK_LINE"
    truncate_logs
    # Each repetition starts one step further along, so no server always runs first. soak
    # runs right before or after h2load against the same serve (in turns): the soak / h2load
    # verdict compares the two runs of each rep.
    order=(raw serve warn)
    for ((rep = 1; rep <= REPS; rep++)); do
        for ((i = 0; i < ${#order[@]}; i++)); do
            label=${order[(i + rep - 1) % ${#order[@]}]}
            use_server "$label"
            if [[ $label == serve ]] && ((rep % 2 == 0)); then
                run_soak "$sc" "$rep" soak@serve; truncate_logs
            fi
            run_h2load "$sc" "$rep" "h2load@$label"; truncate_logs
            if [[ $label == serve ]] && ((rep % 2)); then
                run_soak "$sc" "$rep" soak@serve; truncate_logs
            fi
        done
    done
    for label in "${labels[@]}"; do
        use_server "$label"
        HWM[$sc.$label]=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status")
        stop_labelled "$label"
    done
    echo "   servers: raw: ${CMDS[raw]}"
    echo "            serve: ${CMDS[serve]}"
    echo "            warn: ${CMDS[warn]}"
    echo "   h2load:  $H2_CMD"
    echo "   soak:    $SOAK_CMD"
}

# --- 2. idle streams ------------------------------------------------------------------------

declare -A IDLE=()

idle_streams() { # LABEL: sets IDLE[LABEL]="base_kb open_kb after_kb per_stream_bytes"
    start_labelled "$1"
    hold_idle_streams "$1"
    IDLE[$1]=$IDLE_RESULT
    stop_labelled "$1"
}

# --- 3. ping-pong ---------------------------------------------------------------------------

declare -A PING=()

ping_pong() { # LABEL REP: one stream, one message at a time; appends "p50 p99" (µs) to PING[LABEL]
    local label=$1 json="$WORK/ping-$1-$2.json" rc=0 vals
    use_server "$label"
    taskset -c "$CLIENT_CORE" timeout -k 5 $((PING_SECONDS + 40)) "$BIN" soak --server "127.0.0.1:$PORT" \
        --pattern bidi-sync --in-flight 1 --concurrency 1 --connections 1 --messages-per-stream 100000 \
        --message-size "${MESSAGE_BYTES}B" --duration "${PING_SECONDS}s" --warmup 1s \
        --output json "$json" >/dev/null 2>"$WORK/ping.err" || rc=$?
    [[ -s $json ]] || { cat "$WORK/ping.err" >&2; die "ping-pong soak against $label wrote no report (exit $rc)"; }
    vals=$(jq -r '[(.latency_ms.p50 * 1000 | round), (.latency_ms.p99 * 1000 | round), .calls.failed,
        (.integrity | .lost + .duplicated + .reordered + .corrupted)] | map(tostring) | join(" ")' "$json")
    local p50 p99 failed broken
    read -r p50 p99 failed broken <<<"$vals"
    ((rc == 0 && failed == 0 && broken == 0)) || die "ping-pong against $label: exit $rc, $failed failed calls, $broken integrity errors"
    PING[$label]+="$p50 $p99,"
    printf '   %-5s rep %d  p50 %4s µs  p99 %4s µs\n' "$label" "$2" "$p50" "$p99"
}

# --- 4. start-up ----------------------------------------------------------------------------

startup_ms() { # LABEL: median and max ms from exec to the first accepted connection
    python3 - "$1" "$STARTS" "$SERVER_CORE" "$BIN" "$RAW_BIN" <<'PY'
import os, signal, socket, statistics, subprocess, sys, time
label, starts, core, grpcstream, raw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
env = {k: v for k, v in os.environ.items() if not k.startswith("GRPCSTREAM_") and k != "RUST_LOG"}
times = []
for _ in range(starts):
    with socket.socket() as probe:  # a free port, released just before the server binds it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [raw, str(port)] if label == "raw" else [grpcstream, "serve", "--listen", "127.0.0.1", "--port", str(port)]
    start = time.perf_counter()
    proc = subprocess.Popen(["taskset", "-c", core] + cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                sys.exit(f"{label} exited during start-up (port {port} taken?)")
            if time.perf_counter() - start > 10:
                sys.exit(f"{label} accepted no connection within 10 s")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.0005)
        times.append((time.perf_counter() - start) * 1000)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
print(f"{statistics.median(times):.1f} {max(times):.1f}")
PY
}

# --- the summary ----------------------------------------------------------------------------

verdict() { # VALUE OP LIMIT: "ok" or "MISSED"
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v == "-") { print "-"; exit }
        ok = (op == ">=") ? v >= l : v <= l; print ok ? "ok" : "MISSED" }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

median_of() { # "a b,c d,..." FIELD: the median of that field over the repetitions
    tr ',' '\n' <<<"$1" | awk -v f="$2" 'NF { print $f }' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f\n", m }'
}

paired_ratio() { # "a b,..." "c d,..." FIELD: the median over the repetitions of first / second
    paste -d' ' <(tr ',' '\n' <<<"$1" | awk -v f="$3" 'NF { print $f }') \
        <(tr ',' '\n' <<<"$2" | awk -v f="$3" 'NF { print $f }') |
        awk 'NF == 2 && $2 > 0 { print $1 / $2 }' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f\n", m }'
}

summary() {
    local sc raw soak h2serve r sr idle_h idle_s
    echo
    echo "== summary: $DURATION s measured + $WARMUP s warm-up per throughput run, $REPS interleaved reps,"
    echo "   $CLIENTS connections x $STREAMS streams, $MESSAGES x ${MESSAGE_BYTES}-byte messages per call;"
    echo "   servers on core $SERVER_CORE, h2load/soak on core $CLIENT_CORE; msgs/s = request messages of successful calls per second"
    echo
    printf '%-13s  %-16s  %-27s  %-16s  %s\n' scenario server "msgs/s median (min-max)" "x raw (target)" "peak RSS (x raw, target <= 2)"
    for sc in "${SCENARIOS[@]}"; do
        read -r -a raw <<<"$(stats_of "$sc" h2load@raw 5)"
        for label in raw serve warn; do
            read -r -a r <<<"$(stats_of "$sc" "h2load@$label" 5)"
            local target="" rss_ratio
            r[3]=$(ratio "${r[0]}" "${raw[0]}")
            case $label in
            serve) target=" (>= 0.80 $(verdict "${r[3]}" '>=' 0.80))" ;;
            warn) target=" (>= 0.95 $(verdict "${r[3]}" '>=' 0.95))" ;;
            esac
            rss_ratio=$(ratio "${HWM[$sc.$label]}" "${HWM[$sc.raw]}")
            printf '%-13s  %-16s  %-27s  %-16s  %s MiB (%s%s)\n' "$sc" "h2load > $label" "${r[0]} (${r[1]}-${r[2]})" \
                "${r[3]}$target" "$(mib "${HWM[$sc.$label]}")" "$rss_ratio" \
                "$([[ $label == raw ]] || echo " $(verdict "$rss_ratio" '<=' 2)")"
        done
        read -r -a soak <<<"$(stats_of "$sc" soak@serve 5)"
        read -r -a h2serve <<<"$(stats_of "$sc" h2load@serve 5)"
        sr=$(ratio "${soak[0]}" "${h2serve[0]}")
        pr=$(paired_median "$sc" soak@serve h2load@serve 5)
        read -r -a idle_h <<<"$(stats_of "$sc" h2load@serve 11 1)"
        read -r -a idle_s <<<"$(stats_of "$sc" soak@serve 11 1)"
        printf '%-13s  %-16s  %-27s  %s\n' "$sc" "soak > serve" "${soak[0]} (${soak[1]}-${soak[2]})" \
            "$pr of h2load > serve, paired (>= 1.0 $(verdict "$pr" '>=' 1.0)); $sr of its median; serve idle ${idle_h[0]}% / ${idle_s[0]}% under h2load / soak"
    done
    echo "  soak / h2load is judged on the median of each rep's pair of runs; serve idle = how long serve's core"
    echo "  idled inside the tool's measured window (median): under 1%, serve set the pace (soak-vs-h2load.sh)"
    echo
    echo "idle bidi-sync streams: $IDLE_STREAMS over $IDLE_CONNECTIONS connections, each after one echo"
    for label in raw serve; do
        local v
        read -r -a v <<<"${IDLE[$label]}"
        local back
        back=$(ratio "${v[2]}" "${v[0]}")
        printf '  %-5s  %6s bytes per idle stream%s  RSS %s MiB before, %s MiB open, %s MiB after closing (x%s of before%s)\n' \
            "$label" "${v[3]}" "$([[ $label == serve ]] && echo " (<= 8192 $(verdict "${v[3]}" '<=' 8192))")" \
            "$(mib "${v[0]}")" "$(mib "${v[1]}")" "$(mib "${v[2]}")" "$back" \
            "$([[ $label == serve ]] && echo ", target <= 1.2 $(verdict "$back" '<=' 1.2)")"
    done
    echo
    echo "ping-pong: one stream, one ${MESSAGE_BYTES}-byte message at a time, $PING_REPS reps of $PING_SECONDS s each (soak's round trip)"
    local rp50 rp99 sp50 sp99 q50 q99
    rp50=$(median_of "${PING[raw]}" 1) rp99=$(median_of "${PING[raw]}" 2)
    sp50=$(median_of "${PING[serve]}" 1) sp99=$(median_of "${PING[serve]}" 2)
    q50=$(paired_ratio "${PING[serve]}" "${PING[raw]}" 1) q99=$(paired_ratio "${PING[serve]}" "${PING[raw]}" 2)
    printf '  raw    p50 %4s µs  p99 %4s µs  (medians)\n' "$rp50" "$rp99"
    printf '  serve  p50 %4s µs  p99 %4s µs  (medians)\n' "$sp50" "$sp99"
    printf '  serve / raw, median of the %s back-to-back pairs: p50 x%s  p99 x%s  (target <= 1.05: %s / %s)\n' \
        "$PING_REPS" "$q50" "$q99" "$(verdict "$q50" '<=' 1.05)" "$(verdict "$q99" '<=' 1.05)"
    echo
    echo "start-up, exec to the first accepted connection ($STARTS starts): raw median ${START[raw]% *} ms" \
        "(max ${START[raw]#* }), serve median ${START[serve]% *} ms (max ${START[serve]#* };" \
        "target < 50: $(verdict "${START[serve]#* }" '<=' 50))"
    local invalid
    invalid=$(awk '$4 != 1' "$RESULTS")
    [[ -z $invalid ]] || { echo; echo "INVALID runs left out:"; echo "$invalid"; }
}

# --- main -----------------------------------------------------------------------------------

ensure_tools
command -v python3 >/dev/null || die "python3 is needed for the start-up measurement"
build --example raw_echo --example idle_streams
RAW_BIN="$(dirname "$BIN")/examples/raw_echo"
IDLE_BIN="$(dirname "$BIN")/examples/idle_streams"
[[ -x $RAW_BIN && -x $IDLE_BIN ]] || die "no $RAW_BIN or $IDLE_BIN (cargo build --release --examples)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX")
BODY="$WORK/body.bin"
RESULTS="$WORK/results.txt"
: >"$RESULTS"
CLK_TCK=$(getconf CLK_TCK)
make_body "$BODY"

echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
echo "tools: $(h2load --version 2>&1 | head -1), $("$BIN" --version 2>/dev/null || echo grpcstream), commit $(git -C "$CRATE_DIR" rev-parse --short HEAD 2>/dev/null || echo -)$( [[ -n $(git -C "$CRATE_DIR" status --porcelain --untracked-files=no 2>/dev/null) ]] && echo '+dirty')"

for sc in "${SCENARIOS[@]}"; do
    throughput "$sc"
done

echo
echo "== idle streams"
for label in raw serve; do
    idle_streams "$label"
done

echo
echo "== ping-pong"
start_labelled raw
start_labelled serve
for ((rep = 1; rep <= PING_REPS; rep++)); do
    if ((rep % 2)); then ping_pong raw "$rep"; ping_pong serve "$rep"; else ping_pong serve "$rep"; ping_pong raw "$rep"; fi
done
stop_labelled raw
stop_labelled serve

declare -A START=()
echo
echo "== start-up"
for label in raw serve; do
    START[$label]=$(startup_ms "$label")
    echo "   $label: median ${START[$label]% *} ms, max ${START[$label]#* } ms"
done

summary
