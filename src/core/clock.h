/* clock.h - the one clock of emufs's waits: CLOCK_MONOTONIC, in
 * milliseconds, and deadlines for pthread_cond_timedwait on condition
 * variables made with clock_cond_init (a change of the wall clock never
 * stretches nor cuts a wait).
 */
#ifndef EMUFS_CLOCK_H
#define EMUFS_CLOCK_H

#include <pthread.h>
#include <time.h>

/* Milliseconds on the monotonic clock (an arbitrary origin). */
long long clock_now_ms(void);
/* The deadline ms from now (ms < 0: now), for pthread_cond_timedwait on
 * a condition variable of clock_cond_init. */
struct timespec clock_deadline(int ms);
/* Move a deadline on by ms. */
void clock_advance(struct timespec *ts, int ms);
/* Milliseconds left until a deadline of clock_deadline(), rounded up
 * (so a poll() on it never wakes early), never below 0. */
int clock_ms_until(const struct timespec *dl);
/* Milliseconds left until deadline_ms (a clock_now_ms value), never
 * below 0. */
int clock_ms_left(long long deadline_ms);
/* A condition variable whose timed waits use the monotonic clock. */
int clock_cond_init(pthread_cond_t *cond);

#endif
