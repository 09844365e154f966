#!/usr/bin/env bash
# soak-vs-h2load.sh: is `grpcstream soak` the bottleneck of its own benchmarks?
#
# Runs `grpcstream soak` and h2load (Debian's nghttp2-client) one after the other, interleaved,
# against the same `grpcstream serve` (demo delays off, pinned to one core; the load
# generators pinned to another), on client-stream and bidi-sync calls of 100 messages of
# 64 bytes, and prints soak msgs/s ÷ h2load msgs/s. Target: >= 1.0. How long the server's core
# idled inside each run's measured window tells which side set the pace: under 1%, the server
# was saturated, and the ratio is then down to how fast it ran during each tool's runs.
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
# --control adds a third run per rep: h2load with a busy loop at idle priority beside it on its
# core, making that core about as busy as it was under soak in the same rep. The server stays
# saturated either way; on a VM whose virtual cores share physical ones, a busier generator
# core slows the server's (h2load+load / h2load < 1 shows by how much), so soak / h2load+load
# compares the two tools at equal load on the generator's core.
#
# Usage: bench/soak-vs-h2load.sh [--quick] [options]   (--help for the options)

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRATE_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

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
CONTROL=0          # --control: also h2load with its core loaded as soak loaded it
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
      --control          per rep, a third run: h2load beside a busy loop at idle priority
                         that makes its core as busy as soak made it in that rep (needs
                         python3 and chrt); prints soak / (h2load at soak's core load)
      --keep             keep the work directory (reports, logs, h2load outputs)
  -h, --help             this text
EOF
}

custom_scenarios=()
while (($#)); do
    common_option "$@"
    if ((SHIFT)); then shift "$SHIFT"; continue; fi
    case $1 in
    -q | --quick) DURATION=3 REPS=1 ;;
    --control) CONTROL=1 ;;
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
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
    esac
    shift
done
((${#custom_scenarios[@]})) && SCENARIOS=("${custom_scenarios[@]}")
CONCURRENCY=$((CLIENTS * STREAMS))

summary() {
    local sc h2 sk cpu scpu_h scpu_s idle_h idle_s other ratio paired invalid busy
    echo
    echo "soak vs h2load: $DURATION s measured + $WARMUP s warm-up per run, $REPS interleaved reps," \
        "$CLIENTS connections x $STREAMS streams, $MESSAGES x ${MESSAGE_BYTES}-byte messages per call"
    echo "server on core $SERVER_CORE (logs: $SERVER_LOG), load generator on core $CLIENT_CORE;" \
        "msgs/s = request messages of successful calls per measured second"
    echo
    printf '%-13s  %-29s  %-29s  %5s  %-14s  %-8s  %-13s  %-15s  %-11s  %s\n' scenario "h2load msgs/s median (min-max)" \
        "soak msgs/s median (min-max)" ratio "paired (>= 1)" "soak cpu" "server cpu h/s" "server idle h/s" "other cpu" "server peak RSS"
    for sc in "${SCENARIOS[@]}"; do
        read -r -a h2 <<<"$(stats_of "$sc" h2load 5)"
        read -r -a sk <<<"$(stats_of "$sc" soak 5)"
        read -r -a cpu <<<"$(stats_of "$sc" soak 8)"
        read -r -a scpu_h <<<"$(stats_of "$sc" h2load 9)"
        read -r -a scpu_s <<<"$(stats_of "$sc" soak 9)"
        read -r -a idle_h <<<"$(stats_of "$sc" h2load 11 1)"
        read -r -a idle_s <<<"$(stats_of "$sc" soak 11 1)"
        other=$(awk -v sc="$sc" '$1 == sc && $10 > m { m = $10 } END { print m + 0 }' "$RESULTS")
        ratio=$(awk -v s="${sk[0]}" -v h="${h2[0]}" 'BEGIN { if (h + 0 > 0 && s != "-") printf "%.2f", s / h; else print "-" }')
        paired=$(paired_median "$sc" soak h2load 5)
        printf '%-13s  %-29s  %-29s  %5s  %-14s  %-8s  %-13s  %-15s  %-11s  %s\n' "$sc" \
            "${h2[0]} (${h2[1]}-${h2[2]})" "${sk[0]} (${sk[1]}-${sk[2]})" "$ratio" \
            "$paired $(awk -v p="$paired" 'BEGIN { if (p == "-") print ""; else print (p >= 1.0) ? "ok" : "MISSED" }')" \
            "${cpu[0]}%" "${scpu_h[0]}% / ${scpu_s[0]}%" "${idle_h[0]}% / ${idle_s[0]}%" "max ${other}%" "${HWM[$sc]} MiB"
    done
    echo
    echo "ratio = soak median / h2load median; paired = the median over the reps of soak / h2load, the two"
    echo "  runs of a rep back to back: the target (>= 1.0) is judged on it, as the machine's drift cancels out."
    echo "soak cpu = (client.cpu_user_s + client.cpu_system_s) / measured_s from soak's report (median, % of one"
    echo "  core); getrusage covers the whole process (start-up, warm-up, drain), so it overstates the window."
    echo "server cpu h/s = the server's CPU over the h2load runs / over the soak runs (median; 100% = its core)."
    echo "server idle h/s = how long the server's core sat idle inside the measured window (from 1 s after the"
    echo "  warm-up to 1 s before the end), h2load runs / soak runs (median): under 1%, the server was saturated."
    echo "other cpu = CPU on the two cores used by neither the server nor the tool during a run (highest run)."
    echo "server peak RSS = VmHWM of the scenario's server process after all its runs (both tools)."
    ((CONTROL)) && control_summary
    # The control's own load counts as "other": not a disturbance.
    busy=$(awk '$10 > 20 && $2 != "h2load+load"' "$RESULTS")
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

# The busy share (of the time h2load leaves free) that brings the generator's core to soak's
# load of rep REP: (soak cpu - h2load cpu) / (100 - h2load cpu), from the two runs just made.
control_share() { # SCENARIO REP
    awk -v sc="$1" -v rep="$2" '$1 == sc && $3 == rep && $2 == "soak" { s = $7 }
        $1 == sc && $3 == rep && $2 == "h2load" { h = $7 }
        END { share = (h < 100) ? (s - h) / (100 - h) : 0
            printf "%.2f\n", share < 0 ? 0 : (share > 0.95 ? 0.95 : share) }' "$RESULTS"
}

run_control() { # SCENARIO REP: h2load with an idle-priority busy loop beside it on its core
    local share
    share=$(control_share "$1" "$2")
    # Busy for SHARE of every 10 ms; at idle priority it runs only when h2load does not.
    timeout -k 2 $((DURATION + WARMUP + 35)) chrt --idle 0 taskset -c "$CLIENT_CORE" python3 -c '
import sys, time
share, period = float(sys.argv[1]), 0.01
while True:
    start = time.perf_counter()
    while time.perf_counter() - start < share * period:
        pass
    time.sleep(max(0.0, period - (time.perf_counter() - start)))' "$share" &
    LOAD_PID=$!
    run_h2load "$1" "$2" "h2load+load"
    stop_pid "$LOAD_PID" 3
    LOAD_PID=""
    echo "    (h2load+load: a busy loop took ${share} of the time h2load left its core)"
}

control_summary() {
    local sc own vs_soak cpu
    echo
    for sc in "${SCENARIOS[@]}"; do
        own=$(paired_median "$sc" "h2load+load" h2load 5)
        vs_soak=$(paired_median "$sc" soak "h2load+load" 5)
        read -r -a cpu <<<"$(stats_of "$sc" "h2load+load" 7)"
        echo "control $sc: h2load with its core loaded as soak loads it (core busy ${cpu[0]}% from h2load itself):"
        echo "  h2load+load / h2load = $own (paired); soak / h2load+load = $vs_soak (paired)"
    done
}

# --- main -----------------------------------------------------------------------------------

if ((CONTROL)); then ensure_tools h2load curl jq taskset timeout python3 chrt; else ensure_tools; fi
build # grpcstream only: no examples needed here

WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-vs-h2load.XXXXXX")
BODY="$WORK/body.bin"
RESULTS="$WORK/results.txt"
: >"$RESULTS"
CLK_TCK=$(getconf CLK_TCK)
declare -A HWM=()
make_body "$BODY"

echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
echo "tools: $(h2load --version 2>&1 | head -1), $(curl --version | head -1 | cut -d' ' -f1-2), $("$BIN" --version 2>/dev/null || echo grpcstream), commit $(git -C "$CRATE_DIR" rev-parse --short HEAD 2>/dev/null || echo -)$( [[ -n $(git -C "$CRATE_DIR" status --porcelain --untracked-files=no 2>/dev/null) ]] && echo '+dirty')"
echo "body: $MESSAGES frames x $(message_bytes "$MESSAGE_BYTES") bytes = $(wc -c <"$BODY") bytes (each EchoRequest.message is a ${MESSAGE_BYTES}-byte string, protobuf $((MESSAGE_BYTES + 2)) bytes)"

log_env=()
[[ $SERVER_LOG == warn ]] && log_env=("$WARN_LOG")
for sc in "${SCENARIOS[@]}"; do
    start_server "$WORK/server.log" "${log_env[@]}" -- "$BIN" "${SERVE_ARGS[@]}"
    echo
    echo "== $sc: server pid $SERVER_PID on 127.0.0.1:$PORT"
    echo "   server: $SERVER_CMD"
    curl_check "$sc" || die "$sc: $CURL_LINE; h2load numbers would not be trustworthy"
    echo "   verify $CURL_LINE; trailers: $(tr -d '\r' <"$WORK/curl.headers" | grep -ai '^grpc-' | tr '\n' ' ')"
    h2load_check "$sc" || die "$sc: $H2CHECK_LINE"
    echo "   verify $H2CHECK_LINE"
    truncate_logs
    for ((rep = 1; rep <= REPS; rep++)); do
        # Alternate which tool goes first, so a drift of the machine favours neither.
        if ((rep % 2)); then
            run_h2load "$sc" "$rep"; truncate_logs
            run_soak "$sc" "$rep"; truncate_logs
        else
            run_soak "$sc" "$rep"; truncate_logs
            run_h2load "$sc" "$rep"; truncate_logs
        fi
        if ((CONTROL)); then run_control "$sc" "$rep"; truncate_logs; fi
    done
    echo "   h2load: $H2_CMD"
    echo "   soak:   $SOAK_CMD"
    HWM[$sc]=$(awk -v kb="$(server_hwm_kb)" 'BEGIN {printf "%.1f", kb / 1024}')
    stop_pid "$SERVER_PID" 7
    SERVER_PID=""
done

summary
