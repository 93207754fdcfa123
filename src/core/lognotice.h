/* lognotice.h - a full disk is never silent (docs/reference.md 3.3): the
 * trouble hook of every log of an instance (its channels, `log`,
 * `events`) tells `log` and `events` when appending fails and when it
 * works again, with the range of bytes that was lost. The notices are
 * appended as logfile notices, so a `log` or `events` that cannot be
 * written itself keeps them in memory, at its end. */
#ifndef EMUFS_LOGNOTICE_H
#define EMUFS_LOGNOTICE_H

struct logfile;

/* Where an instance's notices go: its `log` and `events`, and the
 * instance's name for the event lines. Lives as long as the logs it
 * watches (in struct instance). */
struct lognotice {
	struct logfile *log;
	struct logfile *events;
	const char *instance;
};

/* Let n's log and events tell of lf's trouble, naming it name. */
void lognotice_watch(const struct lognotice *n, struct logfile *lf,
		     const char *name);

#endif
