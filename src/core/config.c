/* config.c - the configuration as plain structs (config.h): names,
 * look-ups and freeing. Reading a file into them is config_load.c's. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emulator.h"

#define NAME_MAX_BYTES 64

struct emufs_config *config_empty(void)
{
	struct emufs_config *cfg = calloc(1, sizeof *cfg);

	if (!cfg)
		return NULL;
	cfg->dir = getcwd(NULL, 0);
	if (!cfg->dir)
		cfg->dir = strdup("/");
	cfg->listen = strdup(CONFIG_DEFAULT_LISTEN);
	if (!cfg->dir || !cfg->listen) {
		free(cfg->dir);
		free(cfg->listen);
		free(cfg);
		return NULL;
	}
	cfg->request_timeout_ms = CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
	cfg->log_cap = CONFIG_DEFAULT_LOG_CAP;
	cfg->snapshot_timeout_ms = CONFIG_DEFAULT_SNAPSHOT_TIMEOUT_MS;
	return cfg;
}

static void endpoint_free(struct cfg_endpoint *e)
{
	free(e->host);
	free(e->port);
	free(e->text);
}

static void attach_free(struct cfg_attach *a, size_t nchannels)
{
	if (!a)
		return;
	endpoint_free(&a->qmp);
	endpoint_free(&a->gdb);
	for (size_t i = 0; a->serial && i < nchannels; i++)
		endpoint_free(&a->serial[i]);
	free(a->serial);
	free(a);
}

static void free_target(struct cfg_target *t)
{
	free(t->name);
	if (t->emulator)
		t->emulator->free(t->emu);
	for (size_t i = 0; t->channels && i < t->nchannels; i++) {
		free(t->channels[i].name);
		free(t->channels[i].path);
	}
	free(t->channels);
	for (size_t i = 0; t->pins && i < t->npins; i++) {
		free(t->pins[i].name);
		free(t->pins[i].object);
		free(t->pins[i].property);
		free(t->pins[i].channel);
	}
	free(t->pins);
	for (size_t i = 0; t->launcher && i < t->nlauncher; i++)
		free(t->launcher[i]);
	free(t->launcher);
	attach_free(t->attach, t->nchannels);
}

void config_free(struct emufs_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->targets && i < cfg->ntargets; i++)
		free_target(&cfg->targets[i]);
	free(cfg->targets);
	for (size_t i = 0; cfg->instances && i < cfg->ninstances; i++) {
		free(cfg->instances[i].name);
		free(cfg->instances[i].target);
	}
	free(cfg->instances);
	free(cfg->path);
	free(cfg->dir);
	free(cfg->listen);
	free(cfg->tls_dir);
	free(cfg);
}

const struct cfg_target *config_find_target(const struct emufs_config *cfg,
					    const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->ntargets; i++)
		if (cfg->targets[i].name && !strcmp(cfg->targets[i].name, name))
			return &cfg->targets[i];
	return NULL;
}

bool config_name_valid(const char *name)
{
	size_t i;

	if (!name || !name[0])
		return false;
	for (i = 0; name[i]; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9');
		if (i == 0 ? !alnum : !alnum && ch != '_' && ch != '.' && ch != '-')
			return false;
		if (i >= NAME_MAX_BYTES)
			return false;
	}
	return true;
}

const char *const config_reserved_names[] = {
	"ctl", "state", "target", "log", "events", "props", "gpio", "gdb",
	"firmware", "follow", "snapshots", "trace", NULL,
};

bool config_name_reserved(const char *name)
{
	size_t l;

	if (!name)
		return false;
	for (size_t i = 0; config_reserved_names[i]; i++)
		if (!strcmp(name, config_reserved_names[i]))
			return true;
	for (const struct emulator *const *e = emulator_all(); *e; e++)
		if ((*e)->raw_file && !strcmp(name, (*e)->raw_file))
			return true;
	l = strlen(name);
	size_t sl = strlen(CONFIG_RESERVED_SUFFIX);
	return l >= sl && !strcmp(name + l - sl, CONFIG_RESERVED_SUFFIX);
}

bool config_addr_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (addr && inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return addr && inet_pton(AF_INET6, addr, &a6) == 1 &&
	       IN6_IS_ADDR_LOOPBACK(&a6);
}
