/*
 * spool.h - one message's store: memory up to a limit, then an unlinked
 * temporary file.
 *
 * Holds the message as it is meant (dot-unstuffed, CRLF lines). Memory
 * held by all spools together is counted; past spool_memory_total a
 * message goes to a file early. Owned by its transaction; spool_free(&sp).
 * Loop thread only, except spool_read_at() and spool_fd(), which a worker
 * may use while the session waits for it (the spool does not change then).
 */
#ifndef MXG_SPOOL_H
#define MXG_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct spool;

struct spool *spool_new(const char *dir, uint64_t mem_max, uint64_t mem_total);
void	 spool_free(struct spool **sp);
/* 0, or -1 (err set: disk full, ...). */
int	 spool_append(struct spool *sp, const char *buf, size_t len,
	    struct err *err);
uint64_t spool_size(const struct spool *sp);
/* Copies up to len bytes from offset off; returns bytes copied, -1 error. */
ssize_t	 spool_read_at(const struct spool *sp, uint64_t off, char *buf,
	    size_t len);
/* The contiguous bytes if the spool is in memory, else NULL. */
const char *spool_mem(const struct spool *sp);
/* The file descriptor if spilled (for scanners), else -1. */
int	 spool_fd(const struct spool *sp);
/* Total bytes held in memory by all spools (gauge). */
uint64_t spool_memory_in_use(void);

#endif
