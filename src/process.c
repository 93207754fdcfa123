/* process.c - spawning and signalling emulator processes (process.h). */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

char *process_find_binary(const char *name)
{
	if (!name || !*name) {
		errno = ENOENT;
		return NULL;
	}
	if (strchr(name, '/')) {
		if (access(name, X_OK) < 0)
			return NULL;
		return strdup(name);
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		char *cand;
		if (asprintf(&cand, "%.*s/%s", (int)(end - path), path,
			     name) < 0)
			return NULL;
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		path = *end ? end + 1 : end;
	}
	errno = ENOENT;
	return NULL;
}

/* environ with the NAME=VALUE strings of env replacing or added to it;
 * the strings are borrowed. Built before fork(): the child of a threaded
 * process must not allocate. */
static char **make_envp(char *const env[])
{
	extern char **environ;
	size_t n = 0, extra = 0;
	while (environ[n])
		n++;
	while (env && env[extra])
		extra++;
	char **envp = malloc((n + extra + 1) * sizeof *envp);
	if (!envp)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool replaced = false;
		for (size_t j = 0; j < extra && !replaced; j++) {
			size_t len = strcspn(env[j], "=");
			replaced = !strncmp(environ[i], env[j], len) &&
				   environ[i][len] == '=';
		}
		if (!replaced)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < extra; j++)
		envp[k++] = env[j];
	envp[k] = NULL;
	return envp;
}

/* In the child: only async-signal-safe calls until execve(). */
static void child(char *const argv[], char *const envp[], pid_t parent,
		  int out, int errpipe)
{
	int e;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	setsid();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		goto fail;
	/* errpipe is O_CLOEXEC already; everything else goes too. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	execve(argv[0], argv, envp);
fail:
	e = errno;
	(void)!write(errpipe, &e, sizeof e);
	_exit(127);
}

int process_spawn(char *const argv[], char *const env[], struct process *p,
		  char *err, size_t errlen)
{
	int out[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int rc;

	p->pid = -1;
	p->pidfd = p->outfd = -1;
	char **envp = make_envp(env);
	if (!envp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(argv, envp, parent, out[1], ep[1]);

	close(ep[1]);
	ep[1] = -1;
	int child_errno;
	ssize_t n;
	do
		n = read(ep[0], &child_errno, sizeof child_errno);
	while (n < 0 && errno == EINTR);
	if (n == sizeof child_errno) {      /* exec failed */
		waitpid(pid, NULL, 0);
		snprintf(err, errlen, "cannot execute %s: %s", argv[0],
			 strerror(child_errno));
		rc = -child_errno;
		goto out;
	}
	p->pid = pid;
	p->pidfd = pidfd_open(pid, 0);
	if (p->pidfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "pidfd_open: %s", strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		p->pid = -1;
		goto out;
	}
	fcntl(p->pidfd, F_SETFD, FD_CLOEXEC);
	p->outfd = out[0];
	out[0] = -1;
	fcntl(p->outfd, F_SETFL, O_NONBLOCK);
	rc = 0;
out:
	free(envp);
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	return rc;
}

int process_reap(struct process *p, int *wstatus)
{
	if (p->pid <= 0)
		return 1;
	pid_t r = waitpid(p->pid, wstatus, WNOHANG);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	p->pid = 0;
	return 1;
}

void process_signal(struct process *p, int sig)
{
	/* pidfd_send_signal cannot hit a recycled pid; after the reap it
	 * fails with ESRCH, harmlessly. */
	if (p->pidfd >= 0)
		pidfd_send_signal(p->pidfd, sig, NULL, 0);
}

void process_release(struct process *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->outfd >= 0)
		close(p->outfd);
	p->pidfd = p->outfd = -1;
}

void process_describe_status(int wstatus, char *buf, size_t len)
{
	if (WIFEXITED(wstatus))
		snprintf(buf, len, "exited with status %d",
			 WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "killed by signal %d (%s)",
			 WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
	else
		snprintf(buf, len, "ended with wait status 0x%x", wstatus);
}
