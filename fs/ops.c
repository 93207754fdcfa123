/* ops.c - the FUSE operations: path to node, node to core call, -errno
 * back to the kernel. No handler waits on an emulator without the core's
 * request timeout bounding it.
 *
 * Every file is opened with direct_io: reads return what the core returns
 * (files whose content is computed have no meaningful size), and growing
 * logs never hit stale page-cache data. Attributes are not cached
 * (attr_timeout 0, see main.c) so `tail -f` sees st_size grow.
 */
#define FUSE_USE_VERSION 312
#include <fuse.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "core.h"
#include "connector.h"
#include "ctl.h"
#include "fs.h"
#include "instance.h"
#include "node.h"
#include "pin.h"

static struct core *core_of_ctx(void)
{
	return ((struct emufs_fs *)fuse_get_context()->private_data)->core;
}

static struct emufs_fs *fs_of_ctx(void)
{
	return fuse_get_context()->private_data;
}

/* The growing log a node reads from (log, events, a channel), or NULL.
 * For a channel inst->tlock stays held: give it back with log_done(). */
static struct logfile *log_of(struct node *n)
{
	switch (n->kind) {
	case N_LOG:
		return &n->inst->log;
	case N_EVENTS:
		return &n->inst->events;
	case N_CHANNEL: {
		struct channel *ch = instance_lock_channel(n->inst, n->name);
		return ch ? &ch->log : NULL;
	}
	default:
		return NULL;
	}
}

static void log_done(struct node *n, struct logfile *lf)
{
	if (lf && n->kind == N_CHANNEL)
		instance_unlock_target(n->inst);
}

/* "host:port\n" of the gdb stub: -ESRCH while not running. */
static int gdb_address(struct node *n, char *buf, size_t len)
{
	struct run *r = instance_get_run(n->inst);
	if (!r)
		return -ESRCH;
	int rc = r->conn->gdb_address ? r->conn->gdb_address(r, buf, len - 1)
				      : -ENOENT;
	run_put(r);
	if (rc == 0)
		strcat(buf, "\n");
	return rc;
}

/* Property values are computed on read; like sysfs, their files say 4096
 * bytes and reads (direct_io) return the value and then 0. */
#define PROP_FILE_SIZE 4096

static int fill_stat(struct node *n, struct stat *st)
{
	struct emufs_fs *fs = fs_of_ctx();
	memset(st, 0, sizeof *st);
	st->st_mode = node_mode(n);
	st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_mtim = st->st_ctim = st->st_atim = fs->mounted_at;
	struct logfile *lf;
	char buf[128];

	switch (n->kind) {
	case N_LOG:
	case N_EVENTS:
	case N_CHANNEL:
		if (!(lf = log_of(n)))
			return -ENOENT;
		logfile_stat(lf, &st->st_size, &st->st_mtim);
		log_done(n, lf);
		break;
	case N_PTY:
		if (node_pty_path(n, buf, sizeof buf))
			return -ENOENT;
		st->st_size = strlen(buf);
		break;
	case N_PROP:
		st->st_size = PROP_FILE_SIZE;
		break;
	case N_PIN:
		st->st_size = 2;        /* "0\n" or "1\n" */
		break;
	case N_GDB:
		st->st_size = gdb_address(n, buf, sizeof buf) ? 0
							      : strlen(buf);
		break;
	case N_CTL:
	case N_STATE:
		st->st_size = strlen(inst_state_name(
				      instance_state(n->inst))) + 1;
		break;
	case N_TARGET:
		instance_target_name(n->inst, buf, sizeof buf);
		st->st_size = buf[0] ? strlen(buf) + 1 : 0;
		break;
	default:
		break;
	}
	st->st_ctim = st->st_mtim;
	return 0;
}

/* Run a property operation on the instance's current run. */
static struct run *prop_run(struct node *n)
{
	struct run *r = instance_get_run(n->inst);
	if (r && !r->conn->prop_get) {
		run_put(r);
		r = NULL;
	}
	return r;
}

static int op_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	if (fi && fi->fh)
		return fill_stat(&((struct fh *)fi->fh)->node, st);
	struct node n;
	int rc = node_resolve(core_of_ctx(), path, &n);
	if (rc)
		return rc;
	rc = fill_stat(&n, st);
	node_release(&n);
	return rc;
}

static int readdir_props(struct node *n, void *buf, fuse_fill_dir_t fill)
{
	struct run *r = prop_run(n);
	if (!r)
		return 0;       /* empty while not running */
	struct prop_entry *e;
	size_t cnt;
	int rc = r->conn->prop_list(r, n->rel, &e, &cnt);
	run_put(r);
	if (rc)
		return rc;
	for (size_t i = 0; i < cnt; i++)
		fill(buf, e[i].name, NULL, 0, 0);
	prop_entries_free(e, cnt);
	return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct core *core = core_of_ctx();
	struct node n;
	int rc = node_resolve(core, path, &n);
	if (rc)
		return rc;
	if (n.kind != N_ROOT && n.kind != N_INST && n.kind != N_PROPS &&
	    n.kind != N_GPIO) {
		node_release(&n);
		return -ENOTDIR;
	}
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	if (n.kind == N_PROPS) {
		rc = readdir_props(&n, buf, fill);
		node_release(&n);
		return rc;
	}
	if (n.kind == N_GPIO) {
		pthread_rwlock_rdlock(&n.inst->tlock);
		for (size_t i = 0; i < n.inst->npins; i++)
			fill(buf, n.inst->pins[i].cfg->name, NULL, 0, 0);
		pthread_rwlock_unlock(&n.inst->tlock);
		node_release(&n);
		return 0;
	}
	if (n.kind == N_ROOT) {
		char **names = core_names(core);
		for (size_t i = 0; names && names[i]; i++)
			fill(buf, names[i], NULL, 0, 0);
		core_names_free(names);
		return 0;
	}
	for (const struct fixed_file *f = node_fixed_files; f->name; f++)
		if (node_fixed_present(f, n.inst))
			fill(buf, f->name, NULL, 0, 0);
	pthread_rwlock_rdlock(&n.inst->tlock);
	for (size_t i = 0; i < n.inst->nchannels; i++) {
		struct channel *ch = &n.inst->channels[i];
		char name[160], pty[64];
		fill(buf, ch->cfg->name, NULL, 0, 0);
		snprintf(name, sizeof name, "%s.pty", ch->cfg->name);
		if (channel_pty_path(ch, pty, sizeof pty) == 0)
			fill(buf, name, NULL, 0, 0);
	}
	pthread_rwlock_unlock(&n.inst->tlock);
	node_release(&n);
	return 0;
}

/* An open pin file makes the core watch its pin (for poll). */
static void pin_file_watch(struct fh *fh, int delta)
{
	struct instance *inst = fh->node.inst;
	struct pin *p = instance_lock_pin(inst, fh->node.name);
	if (!p)
		return;
	if (delta > 0) {
		fh->watching = true;
		fh->bind_gen = inst->bind_gen;
		fh->seen_gen = atomic_load(&p->gen);
		pin_watch(inst, p, 1);
	} else if (fh->watching && fh->bind_gen == inst->bind_gen) {
		pin_watch(inst, p, -1);
	}
	instance_unlock_target(inst);
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct fh *fh = calloc(1, sizeof *fh);
	if (!fh)
		return -ENOMEM;
	int rc = node_resolve(core_of_ctx(), path, &fh->node);
	if (rc) {
		free(fh);
		return rc;
	}
	if (S_ISDIR(node_mode(&fh->node))) {
		rc = -EISDIR;
	} else if ((fi->flags & O_ACCMODE) != O_RDONLY &&
		   !node_writable(&fh->node)) {
		instance_log(fh->node.inst, "open of %s for writing refused:"
			     " the file is read-only", fh->node.name);
		rc = -EACCES;
	}
	if (rc == 0 && fh->node.kind == N_PROP &&
	    (fi->flags & O_ACCMODE) != O_WRONLY) {
		struct run *r = prop_run(&fh->node);
		rc = r ? r->conn->prop_get(r, fh->node.rel, &fh->text)
		       : -ENOENT;
		run_put(r);
	}
	if (rc == 0 && fh->node.kind == N_PIN)
		pin_file_watch(fh, 1);
	if (rc) {
		node_release(&fh->node);
		free(fh);
		return rc;
	}
	fi->direct_io = 1;
	if (fh->node.kind == N_QMP || fh->node.kind == N_MONITOR)
		fi->nonseekable = 1;
	struct emufs_fs *fs = fs_of_ctx();
	pthread_mutex_lock(&fs->files_lock);
	fh->file_next = fs->files;
	if (fs->files)
		fs->files->file_prev = &fh->file_next;
	fs->files = fh;
	fh->file_prev = &fs->files;
	pthread_mutex_unlock(&fs->files_lock);
	fi->fh = (uintptr_t)fh;
	return 0;
}

static void fh_free(struct emufs_fs *fs, struct fh *fh)
{
	pthread_mutex_lock(&fs->files_lock);
	*fh->file_prev = fh->file_next;
	if (fh->file_next)
		fh->file_next->file_prev = fh->file_prev;
	pthread_mutex_unlock(&fs->files_lock);
	fs_poll_forget(fs, fh);
	if (fh->node.kind == N_PIN)
		pin_file_watch(fh, -1);
	node_release(&fh->node);
	free(fh->text);
	free(fh);
}

void fs_free_open_files(struct emufs_fs *fs)
{
	while (fs->files)
		fh_free(fs, fs->files);
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	fh_free(fs_of_ctx(), (struct fh *)fi->fh);
	return 0;
}

/* Serve a read of a small computed text. */
static int read_text(const char *text, char *buf, size_t size, off_t off)
{
	size_t len = strlen(text);
	if (off < 0 || (size_t)off >= len)
		return 0;
	if (size > len - off)
		size = len - off;
	memcpy(buf, text + off, size);
	return size;
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct fh *fh = (struct fh *)fi->fh;
	struct node *n = &fh->node;
	char text[160];

	switch (n->kind) {
	case N_CTL:
	case N_STATE:
		snprintf(text, sizeof text, "%s\n",
			 inst_state_name(instance_state(n->inst)));
		return read_text(text, buf, size, off);
	case N_TARGET:
		instance_target_name(n->inst, text, sizeof text - 1);
		if (text[0])
			strcat(text, "\n");
		return read_text(text, buf, size, off);
	case N_PROP:
		return fh->text ? read_text(fh->text, buf, size, off)
				: -EBADF;
	case N_GDB: {
		int rc = gdb_address(n, text, sizeof text);
		return rc ? rc : read_text(text, buf, size, off);
	}
	case N_QMP:
	case N_MONITOR: {
		/* A conversation, not a file: each read takes the next
		 * bytes of the replies so far, whatever the offset. */
		size_t have = fh->text ? strlen(fh->text) - fh->text_off : 0;
		if (size > have)
			size = have;
		if (size)
			memcpy(buf, fh->text + fh->text_off, size);
		fh->text_off += size;
		return size;
	}
	case N_PIN: {
		/* The level is taken by the read at offset 0; the reads that
		 * follow (cat's, up to EOF) serve that same line. */
		if (off > 0)
			return fh->text ? read_text(fh->text, buf, size, off)
					: 0;
		struct pin *p = instance_lock_pin(n->inst, n->name);
		if (!p)
			return -ENOENT;
		unsigned gen;
		int level = pin_read(n->inst, p, &gen);
		if (level >= 0)      /* the changes that level includes */
			fh->seen_gen = gen;
		instance_unlock_target(n->inst);
		if (level < 0)
			return level;
		free(fh->text);
		if (asprintf(&fh->text, "%d\n", level) < 0) {
			fh->text = NULL;
			return -ENOMEM;
		}
		return read_text(fh->text, buf, size, off);
	}
	case N_LOG:
	case N_EVENTS:
	case N_CHANNEL: {
		struct logfile *lf = log_of(n);
		if (!lf)
			return -ENOENT;
		off_t size_now;
		unsigned gen;
		logfile_position(lf, &size_now, &gen);
		ssize_t r = logfile_read(lf, buf, size, off);
		log_done(n, lf);
		if (r >= 0) {
			fh->seen = off + r;
			fh->seen_gen = gen;
		}
		return r;
	}
	default:
		return -EISDIR;
	}
}

/* A raw command on a qmp or monitor file; its reply waits for a read. */
static int raw_write(struct fh *fh, const char *buf, size_t size)
{
	struct node *n = &fh->node;
	struct run *r = instance_get_run(n->inst);
	if (!r) {
		instance_log(n->inst, "write to %s refused: the instance is %s",
			     n->name, inst_state_name(instance_state(n->inst)));
		return -ESRCH;
	}
	char *reply = NULL;
	int rc = r->conn->raw ? r->conn->raw(r, buf, size, &reply) : -EINVAL;
	run_put(r);
	if (rc)
		return rc;
	/* Keep what was not read yet, then the new reply. */
	const char *old = fh->text ? fh->text + fh->text_off : "";
	char *joined;
	if (asprintf(&joined, "%s%s", old, reply) < 0) {
		free(reply);
		return -ENOMEM;
	}
	free(reply);
	free(fh->text);
	fh->text = joined;
	fh->text_off = 0;
	return size;
}

static int op_write(const char *path, const char *buf, size_t size,
		    off_t off, struct fuse_file_info *fi)
{
	struct fh *fh = (struct fh *)fi->fh;
	struct node *n = &fh->node;
	int rc;

	switch (n->kind) {
	case N_CTL:
		rc = ctl_run(n->inst, buf, size);
		break;
	case N_TARGET:
		rc = instance_set_target(n->inst, buf, size);
		break;
	case N_QMP:
	case N_MONITOR:
		return raw_write(fh, buf, size);
	case N_PIN: {
		struct pin *p = instance_lock_pin(n->inst, n->name);
		if (!p)
			return -ENOENT;
		rc = pin_write(n->inst, p, buf, size);
		instance_unlock_target(n->inst);
		break;
	}
	case N_PROP: {
		struct run *r = prop_run(n);
		if (!r) {
			instance_log(n->inst, "write to props/%s refused: the "
				     "instance is %s", n->rel, inst_state_name(
					     instance_state(n->inst)));
			return -ESRCH;
		}
		rc = r->conn->prop_set(r, n->rel, buf, size);
		run_put(r);
		break;
	}
	case N_CHANNEL: {
		struct channel *ch = instance_lock_channel(n->inst, n->name);
		if (!ch)
			return -ENOENT;
		ssize_t w = channel_write(ch, buf, size);
		instance_unlock_target(n->inst);
		if (w == -ESRCH)
			instance_log(n->inst, "write to %s refused: the "
				     "instance is %s", n->name,
				     inst_state_name(instance_state(n->inst)));
		else if (w < 0)
			instance_log(n->inst, "write to %s refused: %s",
				     n->name, strerror((int)-w));
		return w;
	}
	default:
		return -EACCES;
	}
	return rc ? rc : (int)size;
}

/* O_TRUNC on a control file or a channel means nothing; accept it. */
static int op_truncate(const char *path, off_t size,
		       struct fuse_file_info *fi)
{
	struct node n;
	int rc = node_resolve(core_of_ctx(), path, &n);
	if (rc)
		return rc;
	rc = node_writable(&n) ? 0 : -EACCES;
	node_release(&n);
	return rc;
}

/* The sysfs GPIO convention: POLLPRI|POLLERR once the level changed since
 * this open file last read it; nothing otherwise. */
static int poll_pin(struct fh *fh, struct fuse_pollhandle *ph,
		    unsigned *reventsp)
{
	struct pin *p = instance_lock_pin(fh->node.inst, fh->node.name);
	*reventsp = 0;
	if (!p) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		*reventsp = POLLERR;
		return 0;
	}
	if (ph)
		fs_poll_arm(fs_of_ctx(), fh, p, ph);
	if (atomic_load(&p->gen) != fh->seen_gen)
		*reventsp = POLLPRI | POLLERR;
	instance_unlock_target(fh->node.inst);
	return 0;
}

/* POLLIN once a growing log has bytes past what this open file read, or
 * started over since; other files are always ready. */
static int op_poll(const char *path, struct fuse_file_info *fi,
		   struct fuse_pollhandle *ph, unsigned *reventsp)
{
	struct fh *fh = (struct fh *)fi->fh;
	if (fh->node.kind == N_PIN)
		return poll_pin(fh, ph, reventsp);
	struct logfile *lf = log_of(&fh->node);
	if (!lf) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		*reventsp = POLLIN | POLLOUT;
		return 0;
	}
	off_t size;
	unsigned gen;
	/* Arm first, then look: a growth in between still wakes us. */
	if (ph)
		fs_poll_arm(fs_of_ctx(), fh, lf, ph);
	logfile_position(lf, &size, &gen);
	log_done(&fh->node, lf);
	*reventsp = POLLOUT;
	if (size > fh->seen || gen != fh->seen_gen)
		*reventsp |= POLLIN;
	return 0;
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	struct node n;
	int rc = node_resolve(core_of_ctx(), path, &n);
	if (rc)
		return rc;
	if (n.kind == N_PTY) {
		rc = node_pty_path(&n, buf, size);
	} else if (n.kind == N_PROP_LINK) {
		struct run *r = prop_run(&n);
		struct prop_info info = { 0 };
		rc = r ? r->conn->prop_lookup(r, n.rel, &info) : -ENOENT;
		run_put(r);
		if (rc == 0 && info.link)
			snprintf(buf, size, "%s", info.link);
		else if (rc == 0)
			rc = -EINVAL;   /* no longer a link */
		free(info.link);
	} else {
		rc = -EINVAL;
	}
	node_release(&n);
	return rc;
}

static int op_mkdir(const char *path, mode_t mode)
{
	const char *name = path + 1;
	if (strchr(name, '/'))
		return -EPERM;      /* only instances are directories */
	return core_mkdir(core_of_ctx(), name);
}

static int op_rmdir(const char *path)
{
	const char *name = path + 1;
	if (strchr(name, '/'))
		return -EPERM;
	return core_rmdir(core_of_ctx(), name);
}

static int op_create(const char *path, mode_t mode,
		     struct fuse_file_info *fi)
{
	return -ENOENT;   /* the tree is fixed by the configuration */
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->attr_timeout = 0;      /* sizes of growing files */
	cfg->entry_timeout = 1;
	cfg->negative_timeout = 0;  /* instances come and go */
	cfg->direct_io = 1;
	cfg->hard_remove = 1;
	return fuse_get_context()->private_data;
}

const struct fuse_operations emufs_ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.open = op_open,
	.release = op_release,
	.read = op_read,
	.poll = op_poll,
	.readlink = op_readlink,
	.write = op_write,
	.truncate = op_truncate,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.create = op_create,
};
