/*
 * log.h - the log sink (stderr by default, syslog as an option) and the
 * quoting every piece of peer text goes through before it is logged.
 *
 * Levels: log_err the operator must act; log_warn a peer or dependency
 * misbehaved; log_info connect, decision, disconnect, reload; log_debug
 * protocol trace (off by default). Safe to call from worker threads: each
 * line is formatted into a local buffer and written with one write(2).
 */
#ifndef MXG_LOG_H
#define MXG_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_sink { LOG_SINK_STDERR = 0, LOG_SINK_SYSLOG };

#define LOG_LINE_MAX	4096
/* The most a quoted peer string may take in a log line (before escaping). */
#define LOG_QUOTE_MAX	256

void	log_init(const char *ident);
/*
 * Batches the loop thread's stderr lines: schedule() is called when the
 * first line of a batch is kept, and must make the loop call log_flush()
 * before it waits again. NULL turns batching off (after a flush).
 */
void	log_batch(void (*schedule)(void));
void	log_flush(void);
/* Switches sink and level; syslog facility name as in syslog.conf ("mail"). */
int	log_configure(enum log_sink sink, enum log_level level,
	    const char *facility);
int	log_facility_parse(const char *name);
int	log_enabled(enum log_level level);

void	log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Escapes src[0..len) for a log line: printable ASCII except '"' and '\'
 * passes, the rest becomes \xNN (\" and \\ for those two). At most
 * LOG_QUOTE_MAX source bytes are used; a longer input ends in "...".
 * Returns out, always terminated; out must hold LOG_QUOTE_MAX*4+4 bytes
 * for the worst case (smaller buffers truncate safely).
 */
#define LOG_QUOTE_BUF	(LOG_QUOTE_MAX * 4 + 8)
char	*log_quote(char *out, size_t outlen, const char *src, size_t len);
/* Same for a terminated string; NULL gives "-". */
char	*log_quote_str(char *out, size_t outlen, const char *src);

#endif
