/*
 * spool.c - message spool.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "stats.h"
#include "util.h"

#define SPOOL_INITIAL	4096

struct spool {
	char		*dir;
	uint64_t	 mem_max;
	uint64_t	 mem_total;
	char		*mem;		/* in-memory bytes */
	size_t		 mem_cap;
	uint64_t	 size;
	int		 fd;		/* -1 while in memory */
};

static _Atomic uint64_t mem_in_use;

static int spill(struct spool *sp, struct err *err);

struct spool *
spool_new(const char *dir, uint64_t mem_max, uint64_t mem_total)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));

	sp->dir = xstrdup(dir);
	sp->mem_max = mem_max;
	sp->mem_total = mem_total;
	sp->fd = -1;
	return sp;
}

void
spool_free(struct spool **spp)
{
	struct spool *sp = *spp;

	if (sp == NULL)
		return;
	if (sp->mem_cap > 0)
		atomic_fetch_sub(&mem_in_use, sp->mem_cap);
	free(sp->mem);
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->dir);
	free(sp);
	*spp = NULL;
}

uint64_t
spool_memory_in_use(void)
{
	return atomic_load(&mem_in_use);
}

static int
write_all(int fd, const char *buf, size_t len, struct err *err)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err_set(err, "spool write: %s", w < 0 ? strerror(errno) :
			    "short write");
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int
spill(struct spool *sp, struct err *err)
{
	char path[4096];
	int fd;

	if (str_fmt(path, sizeof(path), "%s/mxguard.XXXXXX", sp->dir) < 0) {
		err_set(err, "spool_dir path too long");
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		err_set(err, "spool file in %s: %s", sp->dir, strerror(errno));
		return -1;
	}
	/* Unlinked at once: nothing is left behind whatever happens. */
	unlink(path);
	if (sp->size > 0 && write_all(fd, sp->mem, sp->size, err) < 0) {
		close(fd);
		return -1;
	}
	sp->fd = fd;
	if (sp->mem_cap > 0)
		atomic_fetch_sub(&mem_in_use, sp->mem_cap);
	free(sp->mem);
	sp->mem = NULL;
	sp->mem_cap = 0;
	stats_inc(STAT_spool_to_file);
	return 0;
}

int
spool_append(struct spool *sp, const char *buf, size_t len, struct err *err)
{
	if (len == 0)
		return 0;
	if (sp->fd < 0) {
		uint64_t need = sp->size + len;

		if (need > sp->mem_max ||
		    (need > sp->mem_cap && atomic_load(&mem_in_use) +
		    (need - sp->mem_cap) > sp->mem_total)) {
			if (spill(sp, err) < 0) {
				stats_inc(STAT_spool_error);
				return -1;
			}
		} else {
			if (need > sp->mem_cap) {
				size_t cap = sp->mem_cap ? sp->mem_cap : SPOOL_INITIAL;

				while (cap < need)
					cap *= 2;
				if (cap > sp->mem_max)
					cap = (size_t)sp->mem_max;
				sp->mem = xrealloc(sp->mem, cap);
				atomic_fetch_add(&mem_in_use, cap - sp->mem_cap);
				sp->mem_cap = cap;
			}
			memcpy(sp->mem + sp->size, buf, len);
			sp->size += len;
			return 0;
		}
	}
	if (write_all(sp->fd, buf, len, err) < 0) {
		stats_inc(STAT_spool_error);
		return -1;
	}
	sp->size += len;
	return 0;
}

uint64_t
spool_size(const struct spool *sp)
{
	return sp->size;
}

ssize_t
spool_read_at(const struct spool *sp, uint64_t off, char *buf, size_t len)
{
	if (off >= sp->size)
		return 0;
	if (len > sp->size - off)
		len = (size_t)(sp->size - off);
	if (sp->fd < 0) {
		memcpy(buf, sp->mem + off, len);
		return (ssize_t)len;
	}
	for (;;) {
		ssize_t r = pread(sp->fd, buf, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

const char *
spool_mem(const struct spool *sp)
{
	return sp->fd < 0 ? (sp->mem ? sp->mem : "") : NULL;
}

int
spool_fd(const struct spool *sp)
{
	return sp->fd;
}
