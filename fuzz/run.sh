#!/bin/sh
# Build the libFuzzer targets (clang, AddressSanitizer + UndefinedBehavior-
# Sanitizer) and run each for SECONDS (default 60) from its committed seed
# corpus (fuzz/corpus/<target>) with its dictionary (fuzz/<target>.dict).
# Prints each target's executions; exits 1 if any target found a crash, a
# sanitizer report, a leak or a broken check, leaving the input that did it
# in $FUZZ_OUT (default build-fuzz/findings) and its log beside it.  Inputs
# that found new coverage go to build-fuzz/corpus/<target>, never into the
# committed corpus.
#
#   fuzz/run.sh 60            # as CI runs it
#   build-fuzz/fuzz/fuzz-reader build-fuzz/findings/crash-...   # replay one
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
seconds=${1:-60}
build=${FUZZ_BUILD:-build-fuzz}
out=${FUZZ_OUT:-$build/findings}
targets="reader keyfile workspace conversation task"

if [ ! -f "$build/build.ninja" ]; then
  CC=${FUZZ_CC:-clang} meson setup "$build" -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" fuzz >/dev/null

mkdir -p "$out"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$top/tests/sanitizers/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
status=0
total=0
for target in $targets; do
  corpus=$build/corpus/$target
  log=$out/$target.log
  mkdir -p "$corpus"
  if "$build/fuzz/fuzz-$target" -max_total_time="$seconds" \
       -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -dict="fuzz/$target.dict" -artifact_prefix="$out/$target-" \
       "$corpus" "fuzz/corpus/$target" >"$log" 2>&1; then
    result=ok
  else
    result=FOUND
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  runs=${runs:-0}
  total=$((total + runs))
  printf '%-13s %10s executions in %ss: %s\n' "$target" "$runs" "$seconds" \
    "$result"
  if [ "$result" = FOUND ]; then
    grep -E 'ERROR|SUMMARY|check failed|runtime error|^ *#[0-9]+ ' "$log" \
      | head -n 30 | sed 's/^/  /'
    ls "$out/$target-"* 2>/dev/null | sed 's/^/  input: /'
  fi
done
printf '%-13s %10s executions\n' total "$total"
exit $status
