#!/usr/bin/env bash
# fuzz.sh: runs the fuzz targets of tests/fuzz.rs coverage-guided (cargo-bolero, libFuzzer
# with AddressSanitizer) for a bounded time each, and prints executions and crashes per target.
# `cargo test` runs the same targets on random inputs for a few seconds (the CI form).
#
# Needs a nightly toolchain (sanitizer flags); installs cargo-bolero from crates.io when missing.
# Corpora and crashes go to a work directory (kept with --keep, and always when a crash is found).
#
# Usage: bench/fuzz.sh [--seconds S] [--keep] [TARGET...]   (default: every target, 60 s each)

set -euo pipefail

CRATE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_EACH=60
KEEP=0
TARGETS=()
ALL=(integrity_decoder_survives_anything request_decoder_agrees_with_prost echo_decoder_agrees_with_prost integrity_stamps_round_trip
    summary_formatter_survives_anything config_parser_survives_any_file)

die() {
    echo "error: $*" >&2
    exit 2
}

while (($#)); do
    case $1 in
    --seconds) [[ ${2-} =~ ^[0-9]+$ && $2 -gt 0 ]] || die "$1 needs a positive integer"; SECONDS_EACH=$2; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1'" ;;
    *) [[ " ${ALL[*]} " == *" $1 "* ]] || die "no target '$1' (targets: ${ALL[*]})"; TARGETS+=("$1") ;;
    esac
    shift
done
((${#TARGETS[@]})) || TARGETS=("${ALL[@]}")

rustup toolchain list 2>/dev/null | grep -q '^nightly' ||
    die "no nightly toolchain (rustup toolchain install nightly): libFuzzer's sanitizer flags need it"
command -v cargo-bolero >/dev/null || cargo install --locked cargo-bolero >&2
command -v cargo-bolero >/dev/null || die "cargo-bolero did not install"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")
found=0
finish() {
    if ((KEEP || found)); then echo "work directory kept: $WORK" >&2; else rm -rf -- "$WORK"; fi
}
trap finish EXIT

printf '%-38s %10s %8s %10s %8s\n' target executions seconds "exec/s" crashes
for target in "${TARGETS[@]}"; do
    log="$WORK/$target.log"
    rc=0
    # Bounded: -T stops libFuzzer; timeout stops a stuck build or run.
    (cd "$CRATE_DIR" && timeout -k 10 $((SECONDS_EACH + 1800)) cargo bolero test --toolchain nightly \
        --target-dir "${CARGO_TARGET_DIR:-$CRATE_DIR/target}/fuzz" \
        --corpus-dir "$WORK/corpus-$target" --crashes-dir "$WORK/crashes-$target" \
        -T "${SECONDS_EACH}s" "fuzz::$target") >"$log" 2>&1 || rc=$?
    runs="" secs=""
    read -r runs secs < <(awk '/^Done [0-9]+ runs in [0-9]+ second/ {print $2, $5}' "$log") || true
    crashes=$(find "$WORK/crashes-$target" -type f 2>/dev/null | wc -l)
    if ((rc != 0)) && ! grep -qE 'panicked|ERROR: (libFuzzer|AddressSanitizer)|Test Failure' "$log"; then
        tail -20 "$log" >&2
        die "fuzz::$target did not run (exit $rc); log: $log"
    fi
    ((rc == 0)) || crashes=$((crashes > 0 ? crashes : 1))
    ((crashes == 0)) || found=1
    # A crash stops libFuzzer early: it prints no "Done" line.
    printf '%-38s %10s %8s %10s %8s\n' "$target" "${runs:--}" "${secs:--}" \
        "$( [[ -n $runs ]] && echo $((runs / (secs > 0 ? secs : 1))) || echo -)" "$crashes"
done
((found == 0)) || { echo "crashes found: see $WORK/crashes-*" >&2; exit 1; }
