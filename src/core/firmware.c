/* firmware.c - the `firmware` file of an instance (see firmware.h).
 *
 * A write claims the instance like a target change (instance.h), so the
 * target it checks the path against cannot change before the path is
 * stored, and no start runs meanwhile.
 */
#include "firmware.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "emulator.h"
#include "binding.h"
#include "instance.h"

int firmware_parse(const char *buf, size_t len, char *path,
		   const char **why)
{
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	if (memchr(buf, '\0', len) || memchr(buf, '\n', len) ||
	    memchr(buf, '\r', len)) {
		*why = "expected one line: an absolute path, or nothing "
		       "for the target's own image";
		return -EINVAL;
	}
	if (len && buf[0] != '/') {
		*why = "not an absolute path";
		return -EINVAL;
	}
	if (len >= PATH_MAX) {
		*why = "path too long";
		return -EINVAL;
	}
	memcpy(path, buf, len);
	path[len] = '\0';
	return 0;
}

int firmware_check_file(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* Open it rather than ask access(): that is what the emulator
	 * will do (O_NONBLOCK: never hang, should it change meanwhile). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int firmware_read(struct instance *inst, char *buf, size_t len)
{
	if (len < 2)
		return -ENAMETOOLONG;
	int rc = instance_image(inst, buf, len - 1);
	if (rc == 0)
		strcat(buf, "\n");
	return rc;
}

/* Whether target t can boot path ("": its own): 0, or -EINVAL with the
 * reason logged. */
static int check_for_target(struct instance *inst,
			    const struct cfg_target *t, const char *path)
{
	const char *why = NULL;
	int rc;
	if (!t) {
		instance_log(inst, "firmware refused: no target (write a "
			     "target's name to target first)");
		return -EINVAL;
	}
	if (!t->emulator->image_of || !t->emulator->image_of(t)) {
		instance_log(inst, "firmware refused: target %s boots no "
			     "image of its own", t->name);
		return -EINVAL;
	}
	if (!path[0])
		return 0;
	if ((rc = firmware_check_file(path))) {
		instance_log(inst, "firmware refused: %s: %s", path,
			     rc == -EINVAL ? "not a regular file"
					   : strerror(-rc));
		return -EINVAL;
	}
	if (t->emulator->accepts_image &&
	    !t->emulator->accepts_image(path, &why)) {
		instance_log(inst, "firmware refused: %s: %s", path, why);
		return -EINVAL;
	}
	return 0;
}

int firmware_write(struct instance *inst, const char *buf, size_t len)
{
	char path[PATH_MAX];
	const char *why;
	if (firmware_parse(buf, len, path, &why)) {
		instance_log(inst, "firmware refused: %s", why);
		return -EINVAL;
	}
	inst_token token;
	int rc = instance_claim_stopped(inst, "firmware", &token);
	if (rc)
		return rc;
	/* Stable while we hold the claim: set_target needs one. The
	 * configuration's targets live as long as the core. */
	struct binding *b = instance_binding(inst);
	const struct cfg_target *t = b ? b->target : NULL;
	binding_put(b);

	rc = check_for_target(inst, t, path);
	char *dup = NULL;
	if (rc == 0 && path[0] && !(dup = strdup(path)))
		rc = -ENOMEM;
	if (rc == 0)
		instance_set_firmware(inst, dup);
	instance_release(inst, token, NULL);
	if (rc == -ENOMEM)
		instance_log(inst, "firmware: %s", strerror(ENOMEM));
	else if (rc == 0 && dup)
		instance_log(inst, "firmware set to %s", path);
	else if (rc == 0)
		instance_log(inst, "firmware set back to target %s's own",
			     t->name);
	return rc;
}
