#!/usr/bin/env bash
# reliability.sh: the long-running figures of README's Reliability section.
#
#  streams  Load held: IDLE/LOAD streams against one `grpcstream serve` (default log level):
#           first 10,000 idle bidi-sync streams over 10 connections (examples/idle_streams.rs,
#           each after one checked echo): bytes of server RSS per idle stream, and RSS after
#           they close; then `soak` holds 10,000 concurrent long-lived bidi-sync streams over
#           4 connections for 60 s at 10,000 msgs/s in total: 0 errors, 0 lost, duplicated,
#           reordered or corrupted; server RSS sampled every second (peak) and after the run.
#  soak     Integrity over time: a 10-minute soak at a fixed rate (20,000 msgs/s, all four
#           patterns mixed, streams of 30 s): 0 errors and 0 integrity faults, and no RSS growth
#           in the server or in soak from minute 2 to the last minute (soak's histograms are
#           allocated once, at their fixed size, so its memory must stay flat; the server's
#           follows the client streams in flight). RSS sampled every 10 s, medians compared.
#
# Server on core SERVER_CORE, soak and idle_streams on core CLIENT_CORE, loopback only; every
# process is bounded by `timeout` and ended by PID on exit. Exit 0 when every check holds.
#
# Usage: bench/reliability.sh [streams|soak|all] [--quick] [options]   (--help for the options)

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRATE_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

STREAMS_HELD=10000   # concurrent streams of the load run (and idle streams)
CONNECTIONS=4        # connections of the load run
HOLD_SECONDS=60      # length of the load run
IDLE_CONNECTIONS=10
SOAK_MINUTES=10
SOAK_RATE=20000      # msgs/s of the soak, in total
SOAK_CONCURRENCY=64
GROWTH_LIMIT_KB=2048 # RSS growth allowed from minute 2 to the last minute (allocator noise)
SERVER_CORE=0
CLIENT_CORE=1
DO_INSTALL=1
DO_BUILD=1
BIN=""
KEEP=0
IDLE_WAIT=0
PARTS=()

usage() {
    cat <<EOF
Usage: ${0##*/} [streams|soak|all] [options]

streams: $STREAMS_HELD idle streams (bytes per stream), then $STREAMS_HELD concurrent streams for
         ${HOLD_SECONDS} s (0 errors, 0 lost; server peak RSS).
soak:    a ${SOAK_MINUTES}-minute soak at $SOAK_RATE msgs/s (0 integrity faults, no RSS growth).
all:     both (the default); about 14 minutes plus the release build.

Options:
  -q, --quick           short run: 2,000 streams for 10 s, a 3-minute soak (about 4 minutes)
      --streams N       streams held (default $STREAMS_HELD)
      --seconds S       length of the load run (default $HOLD_SECONDS)
      --minutes M       length of the soak (default $SOAK_MINUTES; at least 3)
      --rate R          msgs/s of the soak (default $SOAK_RATE)
      --bin PATH        use this grpcstream binary (idle_streams from PATH's directory/examples);
                        implies --no-build
      --no-build        do not run \`cargo build --release\`
      --no-install      do not apt-get install missing tools; fail instead
      --keep            keep the work directory (reports, logs, RSS samples)
  -h, --help            this text
EOF
}

while (($#)); do
    common_option "$@"
    if ((SHIFT)); then shift "$SHIFT"; continue; fi
    case $1 in
    streams | soak) PARTS+=("$1") ;;
    all) PARTS+=(streams soak) ;;
    -q | --quick) STREAMS_HELD=2000 HOLD_SECONDS=10 SOAK_MINUTES=3 ;;
    --streams) positive_int "$1" "${2-}"; STREAMS_HELD=$2; shift ;;
    --seconds) positive_int "$1" "${2-}"; HOLD_SECONDS=$2; shift ;;
    --minutes) positive_int "$1" "${2-}"; ((${2} >= 3)) || die "$1 needs at least 3 (minute 2 is the baseline, the last minute is compared)"; SOAK_MINUTES=$2; shift ;;
    --rate) positive_int "$1" "${2-}"; SOAK_RATE=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
    esac
    shift
done
((${#PARTS[@]})) || PARTS=(streams soak)
IDLE_STREAMS=$STREAMS_HELD

FAILED=()
check() { # DESCRIPTION CONDITION...: prints ok/FAILED, remembers failures
    local what=$1
    shift
    if "$@"; then echo "   ok      $what"; else echo "   FAILED  $what"; FAILED+=("$what"); fi
}

report_fields() { # JSON: "failed errors lost duplicated reordered corrupted sent received peak_rss_kb"
    jq -r '[.calls.failed, (.calls.errors | to_entries | map("\(.key)=\(.value)") | join(",") | if . == "" then "none" else . end),
        .integrity.lost, .integrity.duplicated, .integrity.reordered, .integrity.corrupted,
        .messages.sent, .messages.received, (.client.peak_rss_bytes / 1024 | round)] | map(tostring) | join(" ")' "$1"
}

soak_pid() { # the soak process under `timeout` (TOOL_PID)
    local child
    child=$(cat "/proc/$TOOL_PID/task/$TOOL_PID/children" 2>/dev/null || true)
    echo "${child%% *}"
}

sample_rss() { # FILE EVERY_S: "elapsed_s server_kb soak_kb" lines while the tool runs
    local file=$1 every=$2 t0=$SECONDS pid
    : >"$file"
    while kill -0 "$TOOL_PID" 2>/dev/null; do
        pid=$(soak_pid)
        if [[ -n $pid ]] && [[ -r /proc/$pid/status ]]; then
            echo "$((SECONDS - t0)) $(rss_kb) $(pid_rss_kb "$pid" 2>/dev/null || echo 0)" >>"$file"
        fi
        sleep "$every"
    done
}

# --- streams --------------------------------------------------------------------------------

held_streams() {
    echo
    echo "== load held: $STREAMS_HELD streams"
    start_server "$WORK/serve-streams.log" -- "$BIN" serve --listen 127.0.0.1 --port 0
    hold_idle_streams serve
    local base open after per_stream
    read -r base open after per_stream <<<"$IDLE_RESULT"
    local json="$WORK/streams.json" rc=0
    local args=(soak --server "127.0.0.1:$PORT" --pattern bidi-sync --concurrency "$STREAMS_HELD"
        --connections "$CONNECTIONS" --stream-duration "${HOLD_SECONDS}s" --duration "${HOLD_SECONDS}s"
        --warmup 0s --rate "$STREAMS_HELD" --output json "$json")
    echo "   $BIN ${args[*]}"
    local before_load
    before_load=$(rss_kb)
    taskset -c "$CLIENT_CORE" timeout -k 5 $((HOLD_SECONDS * 2 + 60)) "$BIN" "${args[@]}" \
        >"$WORK/streams.out" 2>"$WORK/streams.err" &
    TOOL_PID=$!
    sample_rss "$WORK/streams-rss.txt" 1
    run_tool || rc=$?
    [[ -s $json ]] || { cat "$WORK/streams.err" >&2; die "soak wrote no report (exit $rc)"; }
    sleep 6
    local end peak
    end=$(rss_kb)
    peak=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$WORK/streams-rss.txt")
    local failed errors lost dup reord corrupt sent received soak_peak
    read -r failed errors lost dup reord corrupt sent received soak_peak <<<"$(report_fields "$json")"
    stop_pid "$SERVER_PID" 7
    echo "   idle: $per_stream bytes of server RSS per idle stream ($(mib "$base") MiB before," \
        "$(mib "$open") MiB with $STREAMS_HELD open, $(mib "$after") MiB 6 s after they closed)"
    echo "   load: exit $rc; $received of $sent messages echoed; $failed failed calls (errors: $errors);" \
        "lost $lost, duplicated $dup, reordered $reord, corrupted $corrupt"
    echo "   server RSS $(mib "$before_load") MiB before, peak $(mib "$peak") MiB" \
        "($(((peak - before_load) * 1024 / STREAMS_HELD)) bytes per open stream), $(mib "$end") MiB 6 s after;" \
        "soak's peak RSS $(mib "$soak_peak") MiB"
    check "soak exit 0" test "$rc" -eq 0
    check "0 failed calls" test "$failed" -eq 0
    check "0 lost, duplicated, reordered, corrupted" test $((lost + dup + reord + corrupt)) -eq 0
    check "every message echoed ($received of $sent)" test "$received" -eq "$sent" -a "$sent" -gt 0
    check "idle stream <= 8 KiB of server RSS ($per_stream B)" test "$per_stream" -le 8192
    check "RSS back within 20% of before after the load" test $((end * 10)) -le $((before_load * 12))
}

# --- soak -----------------------------------------------------------------------------------

median_kb() { # FILE FROM_S TO_S COLUMN: median of that column over samples FROM_S <= t < TO_S
    awk -v a="$2" -v b="$3" -v c="$4" '$1 >= a && $1 < b { print $c }' "$1" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print v[int((NR + 1) / 2)] }'
}

long_soak() {
    echo
    echo "== soak: $SOAK_MINUTES minutes at $SOAK_RATE msgs/s"
    start_server "$WORK/serve-soak.log" -- "$BIN" serve --listen 127.0.0.1 --port 0 \
        --server-stream-interval 0s --async-delay 0s
    local json="$WORK/soak.json" rc=0
    local args=(soak --server "127.0.0.1:$PORT" --pattern mix --concurrency "$SOAK_CONCURRENCY"
        --connections 4 --stream-duration 30s --duration "${SOAK_MINUTES}m" --warmup 5s
        --rate "$SOAK_RATE" --output json "$json")
    echo "   $BIN ${args[*]}"
    taskset -c "$CLIENT_CORE" timeout -k 5 $((SOAK_MINUTES * 60 + 120)) "$BIN" "${args[@]}" \
        >"$WORK/soak.out" 2>"$WORK/soak.err" &
    TOOL_PID=$!
    sample_rss "$WORK/soak-rss.txt" 10
    run_tool || rc=$?
    stop_pid "$SERVER_PID" 7
    [[ -s $json ]] || { cat "$WORK/soak.err" >&2; die "soak wrote no report (exit $rc)"; }
    local failed errors lost dup reord corrupt sent received soak_peak
    read -r failed errors lost dup reord corrupt sent received soak_peak <<<"$(report_fields "$json")"
    # Baseline: minute 2 (minute 1 holds the ramp-up); compared with the last minute, by the
    # median of each window's samples, so one sample taken while long client streams hold
    # their summaries does not decide it.
    local last server_base server_end soak_base soak_end
    last=$(awk '$1 > m { m = $1 } END { print m }' "$WORK/soak-rss.txt")
    server_base=$(median_kb "$WORK/soak-rss.txt" 60 120 2)
    server_end=$(median_kb "$WORK/soak-rss.txt" $((last - 60)) $((last + 1)) 2)
    soak_base=$(median_kb "$WORK/soak-rss.txt" 60 120 3)
    soak_end=$(median_kb "$WORK/soak-rss.txt" $((last - 60)) $((last + 1)) 3)
    # The server's working set follows the client streams in flight (each holds its messages
    # until the summary): allow it 10% of movement; soak's histograms have a fixed size.
    local server_limit=$((server_base / 10 > GROWTH_LIMIT_KB ? server_base / 10 : GROWTH_LIMIT_KB))
    local rate
    rate=$(jq -r '.messages.sent_per_s | round' "$json")
    echo "   exit $rc; $sent sent, $received received ($rate msgs/s sent); $failed failed calls (errors: $errors);" \
        "lost $lost, duplicated $dup, reordered $reord, corrupted $corrupt"
    echo "   RSS, median sample of minute 2 -> of the last minute: server $(mib "$server_base") -> $(mib "$server_end") MiB," \
        "soak $(mib "$soak_base") -> $(mib "$soak_end") MiB (soak's peak $(mib "$soak_peak") MiB; samples in $WORK/soak-rss.txt)"
    check "soak exit 0" test "$rc" -eq 0
    check "0 failed calls" test "$failed" -eq 0
    check "0 lost, duplicated, reordered, corrupted" test $((lost + dup + reord + corrupt)) -eq 0
    check "rate held (>= 95% of $SOAK_RATE msgs/s sent)" test $((rate * 100)) -ge $((SOAK_RATE * 95))
    check "server RSS growth <= $(mib "$server_limit") MiB" test $((server_end - server_base)) -le "$server_limit"
    check "soak RSS growth <= $((GROWTH_LIMIT_KB / 1024)) MiB" test $((soak_end - soak_base)) -le "$GROWTH_LIMIT_KB"
}

# --- main -----------------------------------------------------------------------------------

ensure_tools jq taskset timeout
build --example idle_streams
IDLE_BIN="$(dirname "$BIN")/examples/idle_streams"
[[ -x $IDLE_BIN ]] || die "no $IDLE_BIN (cargo build --release --example idle_streams)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/reliability.XXXXXX")
echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
echo "binary: $("$BIN" --version), commit $(git -C "$CRATE_DIR" rev-parse --short HEAD 2>/dev/null || echo -)$( [[ -n $(git -C "$CRATE_DIR" status --porcelain --untracked-files=no 2>/dev/null) ]] && echo '+dirty')"
for part in "${PARTS[@]}"; do
    case $part in
    streams) held_streams ;;
    soak) long_soak ;;
    esac
done
echo
if ((${#FAILED[@]})); then
    echo "FAILED: ${FAILED[*]}"
    exit 1
fi
echo "all checks hold"
