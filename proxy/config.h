/*
 * config.h - the configuration file and the immutable struct config.
 *
 * Format (Postfix admins know it from main.cf): "key = value" lines; a line
 * that starts with white space continues the one before; lines whose first
 * non-blank character is '#' are comments; "[name]" opens the section of
 * filter <name>. Lists are separated by commas and/or white space.
 * Every key has one row in a table (type, default, bounds, reloadable);
 * errors are printed as "FILE:LINE: message" and parsing goes on, so one
 * run reports all of them.
 *
 * Ownership: config_load() returns a config with one reference; sessions
 * take their own with config_ref() and drop it with config_unref(). A
 * config is never changed after load: reload builds a new one.
 */
#ifndef MXG_CONFIG_H
#define MXG_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

struct filter_conf;
struct relay_domains;

/* ---- the generic part, also used by every filter ------------------- */

struct cfg_entry {
	char		*key;
	char		*value;
	int		 line;
	int		 used;
};

struct cfg_block {			/* top level or one [section] */
	char		*name;		/* NULL for the top level */
	const char	*file;		/* borrowed from struct cfg_file */
	int		 line;
	struct cfg_entry *e;
	size_t		 n;
};

struct cfg_file {
	char		*path;
	struct cfg_block *blocks;	/* [0] is the top level */
	size_t		 nblocks;
};

/* The data files (tables, domain and site lists) a configuration read,
 * as they were then: a change to any of them reloads the configuration. */
struct cfg_watch {
	size_t		 n, cap;
	char		**paths;
	uint64_t	*sigs;		/* each file's state when read */
	uint64_t	 sig;		/* of them all */
};

/* Collects errors; prints each as it comes (stderr, or log on reload). */
struct cfg_errors {
	int		 count;
	int		 to_log;	/* 1: log_err, 0: stderr */
	struct cfg_watch *watch;	/* NULL: files are not watched */
};

enum cfg_type {
	CFG_UINT = 0,	/* uint64_t; plain number */
	CFG_SIZE,	/* uint64_t bytes; suffix k, m, g (1024-based) */
	CFG_MS,		/* uint64_t milliseconds; suffix ms, s (default), m, h, d */
	CFG_BOOL,	/* int; yes/no, true/false, on/off, 1/0 */
	CFG_STRING,	/* char *, owned; may be empty */
	CFG_ENUM,	/* int index into the '|' separated choices */
	CFG_LIST,	/* struct cfg_list, owned */
	CFG_PATH	/* char *, owned; empty = unset; must be readable */
};

struct cfg_list {
	char		**v;
	size_t		 n;
};

struct cfg_key {
	const char	*key;
	enum cfg_type	 type;
	const char	*def;		/* as written in the file; NULL = required */
	uint64_t	 min, max;	/* UINT, SIZE, MS */
	size_t		 off;		/* offsetof the field in the target */
	int		 reload;	/* 1: may change on SIGHUP */
	const char	*choices;	/* ENUM: "reject|normalize" */
	const char	*help;		/* one line, for the sample file */
};

/* Marks a key as required (no default). */
#define CFG_REQUIRED	NULL

void	 cfg_error(struct cfg_errors *e, const char *file, int line,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Printed the same way with "warning: ", not counted as an error. */
void	 cfg_warning(struct cfg_errors *e, const char *file, int line,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int	 cfg_file_read(const char *path, struct cfg_file *out,
	    struct cfg_errors *e);
/*
 * The whole regular file at path, at most max bytes, NUL-terminated (and
 * watched for changes when watch is given). 0, or one of CFG_READ_* with
 * err saying why: the reason alone ("No such file or directory", "not a
 * regular file", "N bytes, at most M"), for the caller's message.
 */
#define CFG_READ_OPEN		(-1)	/* cannot open or read */
#define CFG_READ_NOT_FILE	(-2)
#define CFG_READ_TOO_LARGE	(-3)
int	 cfg_read_file(const char *path, uint64_t max,
	    struct cfg_errors *watch, char **out, size_t *outlen,
	    struct err *err);
/* A data file was read (fd open on it): watch it for changes. */
void	 cfg_watch_fd(struct cfg_errors *e, const char *path, int fd);
/* The same from memory (unit tests, fuzzing); path names it in messages. */
int	 cfg_file_parse(const char *path, const char *buf, size_t len,
	    struct cfg_file *out, struct cfg_errors *e);
void	 cfg_file_free(struct cfg_file *f);
const struct cfg_block *cfg_file_section(const struct cfg_file *f,
	    const char *name);
/*
 * Sets every key of the table in base: defaults first, then the block's
 * values (marking them used). Unknown keys are left for cfg_check_unused().
 */
void	 cfg_apply(const struct cfg_block *b, const struct cfg_key *keys,
	    size_t nkeys, void *base, struct cfg_errors *e);
void	 cfg_check_unused(const struct cfg_block *b, struct cfg_errors *e);
/* Frees the owned fields (strings, lists) the table describes. */
void	 cfg_free_fields(const struct cfg_key *keys, size_t nkeys, void *base);
/* Line of key in block, or the block's own line. */
int	 cfg_line_of(const struct cfg_block *b, const char *key);
/* Parses one value of a type into dst, as the table would; -1 + msg. */
int	 cfg_parse_value(const struct cfg_key *k, const char *value, void *dst,
	    struct err *err);
void	 cfg_list_free(struct cfg_list *l);
/* Prints the table as sample-file lines "#key = default". */
void	 cfg_print_keys(const char *section, const struct cfg_key *keys,
	    size_t nkeys);

/* ---- mxguard's own configuration ------------------------------------ */

enum bare_newline { BARE_NL_REJECT = 0, BARE_NL_NORMALIZE };
enum protocol_action { PROTO_REJECT = 0, PROTO_IGNORE };
enum backend_tls { BACKEND_TLS_NO = 0, BACKEND_TLS_MAY, BACKEND_TLS_ENCRYPT };
enum client_info { CLIENT_INFO_NONE = 0, CLIENT_INFO_XCLIENT,
	CLIENT_INFO_PROXY_V1, CLIENT_INFO_PROXY_V2 };
struct table;

#define CONFIG_LISTEN_MAX	16

/* The primary MX (primary.h) and its callouts (callout.h): the primary_*
 * and callout_* keys. */
struct primary_conf {
	char		*primary;	/* host:port; "" = none */
	struct sockaddr_storage addr;	/* from primary, by primary_conf_check */
	socklen_t	 addrlen;
	char		*helo;		/* "" = the hostname */
	uint64_t	 connect_timeout;
	uint64_t	 timeout;
	uint64_t	 probe_interval;
	uint64_t	 max_conns;
	uint64_t	 max_queue;
	uint64_t	 idle_timeout;
	uint64_t	 max_uses;
	uint64_t	 max_rejects;
};

/* Shared state (store.h): the store_* keys. */
enum store_kind { STORE_LMDB = 0, STORE_REDIS };
struct store_conf {
	char		*spec;
	uint64_t	 timeout_ms;
	uint64_t	 lmdb_size;
	char		*redis_prefix;
	/* from spec, by store_conf_check(); owned */
	enum store_kind	 kind;
	char		*path;		/* LMDB directory */
	char		*host;		/* Redis */
	int		 port;
	int		 db;
};

struct config {
	int		 refs;
	char		*path;

	/* identity and listeners */
	char		*hostname;
	struct cfg_list	 listen;
	struct sockaddr_storage listen_addr[CONFIG_LISTEN_MAX];
	socklen_t	 listen_len[CONFIG_LISTEN_MAX];
	size_t		 nlisten;
	uint64_t	 listen_backlog;
	struct cfg_list	 proxy_networks_list;
	struct table	*proxy_networks;	/* cidr, owned; NULL: none */
	uint64_t	 proxy_timeout;
	char		*greeting;
	uint64_t	 greet_delay_ms;
	int		 early_talker;		/* enum protocol_action */
	int		 pipelining_violation;	/* enum protocol_action */

	/* where mail may go */
	struct cfg_list	 relay_domains_list;
	struct relay_domains *relay;	/* built from the list, owned */

	/* the backend (backup MX) */
	char		*backend;
	struct sockaddr_storage backend_addr;
	socklen_t	 backend_addrlen;
	char		*backend_helo;
	uint64_t	 backend_connect_timeout;
	uint64_t	 backend_timeout;
	uint64_t	 backend_data_timeout;
	uint64_t	 backend_probe_interval;
	uint64_t	 backend_idle_timeout;
	int		 backend_tls;
	char		*backend_tls_ca_file;
	int		 backend_tls_verify;
	int		 backend_client_info;	/* enum client_info */
	uint64_t	 max_backend_connections;
	uint64_t	 backend_pool_max;
	uint64_t	 backend_wait;

	/* TLS towards clients */
	char		*tls_cert_file;
	char		*tls_key_file;
	char		*tls_ciphers;
	void		*tls_ctx;	/* SSL_CTX *, owned; NULL = no STARTTLS */
	void		*backend_tls_ctx; /* SSL_CTX *, owned */

	/* message handling */
	uint64_t	 max_message_size;
	uint64_t	 spool_memory_max;
	uint64_t	 spool_memory_total;
	char		*spool_dir;
	int		 bare_newline;
	int		 received_header;
	int		 stream_unfiltered;
	int		 smtputf8;
	int		 dsn;
	int		 chunking;

	/* limits and timeouts */
	uint64_t	 max_sessions;
	uint64_t	 max_sessions_per_ip;
	uint64_t	 max_sessions_per_net;
	uint64_t	 max_rcpts;
	uint64_t	 max_line_length;
	uint64_t	 max_errors;
	uint64_t	 soft_error_limit;
	uint64_t	 error_delay;
	uint64_t	 max_commands;
	uint64_t	 max_pipeline;
	uint64_t	 timeout_greeting;
	uint64_t	 timeout_command;
	uint64_t	 timeout_data;
	uint64_t	 drain_timeout;
	uint64_t	 rules_check_interval;
	struct cfg_watch watch;		/* data files read, for reloads */

	/* the resolver (dns.c) */
	struct cfg_list	 dns_servers;
	uint64_t	 dns_timeout;
	int		 dns_dnssec;
	char		*dns_trust_anchor_file;
	struct cfg_list	 dns_unblock_zones;
	char		*dns_unbound_conf;

	/* workers */
	uint64_t	 workers;
	uint64_t	 worker_queue;

	/* logging */
	int		 log_sink;
	int		 log_level;
	char		*syslog_facility;

	/* the primary MX and shared state */
	struct primary_conf primary;
	struct store_conf store;

	/* filters, in the order of the 'filters' key */
	struct cfg_list	 filters;
	struct filter_conf **finst;
	size_t		 nfilters;
};

/*
 * Loads and checks the file and every file it references (rules, lists,
 * certificates). NULL on any error; each was reported as FILE:LINE.
 * check_only: also report keys that a reload could not change? No: it is
 * -t, which loads everything but starts nothing.
 */
struct config *config_load(const char *path, int to_log, int *nerrors);
struct config *config_ref(struct config *c);
void	 config_unref(struct config **cp);
/* Reports keys that differ and cannot change without a restart. */
void	 config_reload_warnings(const struct config *old,
	    const struct config *new);
/*
 * The watched data files' state now (dev, inode, size, mtime; a missing
 * file counts too), to compare with c->watch.sig: different means one
 * changed since c was loaded. *which names the first that differs.
 */
uint64_t config_files_sig(const struct config *c, const char **which);
/* mxguard's own key table (top level), for tests and fuzzing. */
const struct cfg_key *config_core_keys(size_t *n);
/* Prints the whole key table (top level and every filter) for -k. */
void	 config_print_keys(void);

#endif
