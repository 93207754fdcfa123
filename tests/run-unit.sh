#!/bin/sh
# Runs every cmocka unit test binary given on the command line and prints
# one closing line "unit: N passed, N failed" (binaries, not cases: each
# binary prints its own cmocka summary above).
pass=0 fail=0
for t in "$@"; do
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t"; fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
