/* clock.c - time for the benchmark: monotonic and CPU clocks in
 * microseconds, a sleep that survives signals, and the jitter source.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "bench.h"

double clk_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

double clk_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

void clk_sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
			       (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A deterministic generator (xorshift64): runs differ by noise, not by
 * their jitter. */
static uint64_t clk_rng = 0x9e3779b97f4a7c15ULL;

double clk_rand01(void)
{
	clk_rng ^= clk_rng << 13;
	clk_rng ^= clk_rng >> 7;
	clk_rng ^= clk_rng << 17;
	return (clk_rng >> 11) * (1.0 / 9007199254740992.0);
}
