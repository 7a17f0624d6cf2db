/*
 * worker.c - bounded thread pool with completions on the loop.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "worker.h"

struct job {
	struct job	*next;
	worker_fn	 work;
	worker_fn	 done;
	void		*arg;
};

struct worker_pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct job	*head, *tail;	/* waiting for a thread */
	struct job	*done_head, *done_tail;	/* waiting for the loop */
	size_t		 queued, max_queued;
	int		 stopping;
	pthread_t	*threads;
	unsigned	 nthreads;
	int		 efd;
	struct event	*ev;
};

static void *
worker_main(void *arg)
{
	struct worker_pool *p = arg;

	for (;;) {
		struct job *j;
		uint64_t one = 1;

		pthread_mutex_lock(&p->mu);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->head == NULL) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);

		j->work(j->arg);

		pthread_mutex_lock(&p->mu);
		j->next = NULL;
		if (p->done_tail)
			p->done_tail->next = j;
		else
			p->done_head = j;
		p->done_tail = j;
		pthread_mutex_unlock(&p->mu);
		while (write(p->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct worker_pool *p = arg;
	struct job *j, *next;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("worker eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&p->mu);
	j = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->mu);
	for (; j != NULL; j = next) {
		next = j->next;
		p->queued--;
		j->done(j->arg);
		free(j);
	}
}

struct worker_pool *
worker_pool_new(struct event_base *base, unsigned threads, size_t max_queued)
{
	struct worker_pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->max_queued = max_queued;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		log_err("eventfd: %s", strerror(errno));
		abort();
	}
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, on_done, p);
	event_add(p->ev, NULL);
	p->threads = xcalloc(threads, sizeof(pthread_t));
	for (unsigned i = 0; i < threads; i++) {
		int rc = pthread_create(&p->threads[i], NULL, worker_main, p);

		if (rc != 0) {
			log_err("pthread_create: %s", strerror(rc));
			abort();
		}
		p->nthreads++;
	}
	return p;
}

void
worker_pool_free(struct worker_pool **pp)
{
	struct worker_pool *p = *pp;
	struct job *j, *next;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	/* Jobs nobody started are completed as they are (done frees). */
	j = p->head;
	p->head = p->tail = NULL;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	for (; j != NULL; j = next) {
		next = j->next;
		j->done(j->arg);
		free(j);
	}
	on_done(p->efd, EV_READ, p);
	event_free(p->ev);
	close(p->efd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p);
	*pp = NULL;
}

int
worker_submit(struct worker_pool *p, worker_fn work, worker_fn done, void *arg)
{
	struct job *j;

	if (p->queued >= p->max_queued + p->nthreads)
		return -1;
	j = xcalloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	p->queued++;
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

size_t
worker_queued(const struct worker_pool *p)
{
	return p->queued;
}
