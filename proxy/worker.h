/*
 * worker.h - a bounded thread pool for blocking work (library DNS calls,
 * scanning, regex over big bodies). Jobs go in from the loop thread; their
 * completions come back to the loop through one eventfd, so a slow job
 * never stalls other sessions and an idle client costs no thread.
 *
 * Ownership: the job's arg belongs to the job until done(arg) has run on
 * the loop; work(arg) must only touch arg.
 */
#ifndef MXG_WORKER_H
#define MXG_WORKER_H

#include <stddef.h>

struct event_base;
struct worker_pool;

typedef void (*worker_fn)(void *arg);

struct worker_pool *worker_pool_new(struct event_base *base, unsigned threads,
	    size_t max_queued);
/* Waits for running jobs, runs no queued ones (their done() is called with
 * cancelled = 1 semantics: done still runs so args are freed). */
void	 worker_pool_free(struct worker_pool **pp);
/* 0 queued; -1 queue full (nothing done with arg). Loop thread only. */
int	 worker_submit(struct worker_pool *p, worker_fn work, worker_fn done,
	    void *arg);
size_t	 worker_queued(const struct worker_pool *p);

#endif
