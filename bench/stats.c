/* stats.c - samples and how they are reported: percentiles, the result
 * rows on stdout and the same figures appended to the --tsv file (read by
 * bench/summarize.sh across runs).
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

FILE *stats_tsv;

void samples_add(struct samples *s, double x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			bench_fail("out of memory");
	}
	s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double samples_pct(struct samples *s, double p)
{
	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof *s->v, cmp_double);
	double r = p / 100 * (s->n - 1);
	size_t i = (size_t)r;
	if (i + 1 >= s->n)
		return s->v[s->n - 1];
	return s->v[i] + (r - i) * (s->v[i + 1] - s->v[i]);
}

double samples_median(struct samples *s)
{
	return samples_pct(s, 50);
}

void samples_free(struct samples *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

void stats_row(const char *name, struct samples *s, double scale,
	       const char *unit)
{
	printf("  %-34s %9.3f %s  p10-p90 %.3f-%.3f  p95 %.3f  p99 %.3f  "
	       "max %.3f  n=%zu\n", name, samples_median(s) / scale, unit,
	       samples_pct(s, 10) / scale, samples_pct(s, 90) / scale,
	       samples_pct(s, 95) / scale, samples_pct(s, 99) / scale,
	       samples_pct(s, 100) / scale, s->n);
	if (stats_tsv)
		fprintf(stats_tsv, "%s\t%.6g\t%.6g\t%.6g\t%s\n", name,
			samples_median(s) / scale, samples_pct(s, 10) / scale,
			samples_pct(s, 90) / scale, unit);
}

void stats_value(const char *name, double v, const char *unit)
{
	if (stats_tsv)
		fprintf(stats_tsv, "%s\t%.6g\t\t\t%s\n", name, v, unit);
}
