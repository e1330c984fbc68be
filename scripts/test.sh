#!/usr/bin/env bash
# `npm test`: the type check (tsc --noEmit) and jest, side by side (the type
# check takes one core for ~15 s; jest's first files wait on I/O and bundling
# meanwhile). Fails if either fails; tsc's errors are printed after jest's
# output. Arguments go to jest (`npm test -- test/zones.test.ts`).
set -u
cd "$(dirname "$0")/.."
tsc_out="$(mktemp)"
trap 'rm -f "$tsc_out"' EXIT
npx tsc --noEmit > "$tsc_out" 2>&1 &
tsc_pid=$!
npx jest "$@"
jest_rc=$?
wait "$tsc_pid"
tsc_rc=$?
if [ "$tsc_rc" -ne 0 ]; then
  echo "type check failed (tsc --noEmit):" >&2
  cat "$tsc_out" >&2
fi
if [ "$jest_rc" -ne 0 ]; then exit "$jest_rc"; fi
exit "$tsc_rc"
