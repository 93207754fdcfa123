#!/bin/sh
# summarize.sh - across runs of `make bench BENCH_ARGS='--tsv FILE'`: the
# median, min and max of every figure, one line each.
#
#   bench/summarize.sh FILE
set -eu
[ $# -eq 1 ] || { echo "usage: $0 runs.tsv" >&2; exit 2; }
runs=$(grep -c '^# run' "$1" || true)
echo "$runs runs in $1"
grep -v '^#' "$1" | awk -F '\t' '
	{ n[$1]++; v[$1, n[$1]] = $2; u[$1] = $5; if (!($1 in seen)) { seen[$1] = ++k; o[k] = $1 } }
	END {
		printf "%-48s %10s %10s %10s %3s\n", "figure", "median", "min", "max", "n"
		for (j = 1; j <= k; j++) {
			m = o[j]; c = n[m]
			for (a = 1; a <= c; a++) x[a] = v[m, a] + 0
			for (a = 2; a <= c; a++) {          # insertion sort
				t = x[a]; b = a - 1
				while (b >= 1 && x[b] > t) { x[b + 1] = x[b]; b-- }
				x[b + 1] = t
			}
			med = c % 2 ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2
			printf "%-48s %10.4g %10.4g %10.4g %3d %s\n", m, med, x[1], x[c], c, u[m]
		}
	}'
