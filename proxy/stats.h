/*
 * stats.h - every counter mxguard keeps, in one place.
 *
 * The metrics endpoint and SIGUSR1's log dump only read these. Counters are
 * relaxed atomics: safe from worker threads, exact, never reset while
 * running. Add a counter by adding one X() line: name, help text.
 */
#ifndef MXG_STATS_H
#define MXG_STATS_H

#include <stdint.h>
#include <stdio.h>

#define STATS_COUNTERS(X) \
	X(conn_accepted,		"client connections accepted") \
	X(conn_closed,			"client connections closed") \
	X(conn_refused_backend_down,	"connections answered 421 because the backend probe failed") \
	X(conn_refused_draining,	"connections refused while shutting down") \
	X(conn_refused_max_sessions,	"connections refused: max_sessions reached") \
	X(conn_refused_max_per_ip,	"connections refused: max_sessions_per_ip or per network reached") \
	X(conn_refused_proxy,		"connections refused: bad or untrusted PROXY header") \
	X(conn_accept_error,		"accept(2) failures (descriptor limit and others)") \
	X(conn_timeout,			"sessions ended by a client timeout") \
	X(conn_early_talker,		"clients that talked before the greeting ended") \
	X(conn_lost,			"sessions ended by the client without QUIT") \
	X(conn_output_overflow,		"sessions ended because the client did not read its replies") \
	X(txn_started,			"transactions started (MAIL accepted)") \
	X(txn_accepted,			"messages accepted by the backend and answered 250") \
	X(txn_rejected,			"messages rejected (5xx) at end of data") \
	X(txn_tempfailed,		"messages tempfailed (4xx) at end of data") \
	X(rcpt_accepted,		"recipients accepted by the backend") \
	X(rcpt_rejected,		"recipients rejected (5xx) by a filter or the backend") \
	X(rcpt_tempfailed,		"recipients tempfailed (4xx) by a filter or the backend") \
	X(reply_2xx,			"2xx replies sent to clients") \
	X(reply_3xx,			"3xx replies sent to clients") \
	X(reply_4xx,			"4xx replies sent to clients") \
	X(reply_5xx,			"5xx replies sent to clients") \
	X(cmd_total,			"commands received") \
	X(cmd_unknown,			"unknown commands") \
	X(cmd_forbidden,		"non-SMTP commands (HTTP, header lines): disconnected") \
	X(cmd_syntax,			"commands with syntax errors") \
	X(cmd_bad_sequence,		"commands out of sequence") \
	X(cmd_too_long,			"command lines over the line length limit") \
	X(cmd_bare_lf,			"command lines ended by a bare LF") \
	X(cmd_nul,			"command lines with a NUL byte") \
	X(cmd_pipelining_violation,	"input sent before the reply to DATA/STARTTLS or without PIPELINING") \
	X(limit_max_rcpts,		"recipients refused: max_rcpts") \
	X(limit_max_errors,		"sessions ended: max_errors") \
	X(limit_error_delay,		"error replies held back (past soft_error_limit)") \
	X(limit_max_commands,		"sessions ended: max_commands") \
	X(limit_message_size,		"messages refused: max_message_size") \
	X(limit_spool_memory,		"messages refused: spool memory or disk exhausted") \
	X(limit_line_length,		"sessions ended: data line too long") \
	X(limit_backend_conns,		"transactions refused: max_backend_connections busy") \
	X(data_bare_newline_rejected,	"messages rejected for bare CR or LF (SMTP smuggling)") \
	X(data_bare_newline_normalized,	"messages whose bare CR or LF was normalised to CRLF") \
	X(data_bytes,			"message bytes received (after dot-unstuffing)") \
	X(backend_connect_ok,		"backend connections opened") \
	X(backend_connect_fail,		"backend connections that failed before the greeting") \
	X(backend_reused,		"transactions that reused an open backend connection") \
	X(backend_pool_reused,		"backend connections taken from the pool of idle ones") \
	X(backend_lost,			"backend connections lost during a transaction") \
	X(backend_timeout,		"backend replies that timed out") \
	X(backend_unexpected,		"unexpected backend replies turned into 451") \
	X(backend_reply_4xx,		"4xx replies from the backend passed to clients") \
	X(backend_reply_5xx,		"5xx replies from the backend passed to clients") \
	X(backend_probe_ok,		"backend capability probes that succeeded") \
	X(backend_probe_fail,		"backend capability probes that failed") \
	X(backend_tls_fail,		"backend STARTTLS failures") \
	X(backend_xclient_fail,		"backend connections refused because XCLIENT failed or was not offered") \
	X(tls_handshake_ok,		"client TLS handshakes completed") \
	X(tls_handshake_fail,		"client TLS handshakes failed") \
	X(tls_plaintext_discarded,	"STARTTLS commands followed by pipelined clear text (discarded, CVE-2011-0411)") \
	X(spool_to_file,		"messages that spilled from memory to a temporary file") \
	X(data_streamed,		"messages streamed to the backend as they arrived (no filter needed them whole)") \
	X(spool_error,			"spool write errors") \
	X(filter_offload_full,		"filter jobs refused: worker queue full") \
	X(dns_queries,			"DNS queries asked (SPF, DNSBL, RHSBL, HELO checks)") \
	X(dns_cache_hit,		"DNS queries answered from mxguard's own answer cache (no thread round trip)") \
	X(dns_answer,			"DNS queries answered with records") \
	X(dns_nodata,			"DNS queries answered: no record of the type") \
	X(dns_nxdomain,			"DNS queries answered: no such name") \
	X(dns_servfail,			"DNS queries failed: SERVFAIL, REFUSED or other rcode, or DNSSEC bogus") \
	X(dns_timeout,			"DNS queries that passed their deadline (dns_timeout)") \
	X(dns_error,			"DNS queries that failed locally (bad name, no resolver)") \
	X(dns_bogus,			"DNS answers that failed DNSSEC validation") \
	X(dns_malformed,		"DNS records dropped as malformed or over the per-answer cap") \
	X(dnsbl_listed,			"DNSBL/DNSWL site entries that matched a client (one per entry)") \
	X(dnsbl_rejected,		"clients rejected: DNSBL score at or above threshold") \
	X(dnsbl_allowlisted,		"clients allowlisted: DNSWL score at or below allowlist_threshold") \
	X(dnsbl_zone_error,		"DNSBL zone lookups that failed (timeout, SERVFAIL) or gave an error reply") \
	X(dnsbl_error_reply,		"DNSBL replies that mean 'refused / over quota' (127.255.255.x): errors, not listings") \
	X(dnsbl_invalid_reply,		"DNSBL replies outside 127.0.0.0/8 (ignored, RFC 5782 2.1)") \
	X(dnsbl_tempfailed,		"clients tempfailed because a DNSBL lookup failed and could change the outcome") \
	X(dnsbl_error_ignored,		"DNSBL lookup failures ignored by dns_error = ignore") \
	X(rhsbl_listed,			"RHSBL site entries that matched a sender domain or HELO name") \
	X(rhsbl_rejected,		"sender domains or HELO names rejected: RHSBL score at or above threshold") \
	X(rhsbl_allowlisted,		"sender domains or HELO names allowlisted by RHSBL score") \
	X(rhsbl_zone_error,		"RHSBL zone lookups that failed or gave an error reply") \
	X(rhsbl_tempfailed,		"commands tempfailed because an RHSBL lookup failed") \
	X(spf_pass,			"SPF checks: pass") \
	X(spf_fail,			"SPF checks: fail") \
	X(spf_softfail,			"SPF checks: softfail") \
	X(spf_neutral,			"SPF checks: neutral") \
	X(spf_none,			"SPF checks: none") \
	X(spf_temperror,		"SPF checks: temperror") \
	X(spf_permerror,		"SPF checks: permerror") \
	X(spf_void_limit,		"SPF checks made permerror: more than 2 void lookups (RFC 7208 4.6.4)") \
	X(spf_query_limit,		"SPF checks stopped: more DNS queries than max_dns_queries") \
	X(spf_deadline,			"SPF checks that ran out of time (temperror)") \
	X(spf_long_name,		"SPF lookups refused: name longer than 253 bytes") \
	X(spf_rejected,			"transactions rejected by SPF policy") \
	X(spf_tempfailed,		"transactions tempfailed by SPF policy") \
	X(helo_invalid,			"HELO/EHLO names rejected as invalid syntax") \
	X(helo_not_fqdn,		"HELO/EHLO names rejected: not fully qualified") \
	X(helo_claims_us,		"HELO/EHLO names rejected: our name or address") \
	X(fcrdns_confirmed,		"clients whose reverse name was forward-confirmed") \
	X(fcrdns_unconfirmed,		"clients without a forward-confirmed reverse name") \
	X(fcrdns_error,			"FCrDNS lookups that failed temporarily") \
	X(fcrdns_rejected,		"clients rejected or tempfailed for their reverse name") \
	X(allowlist_client,		"sessions allowlisted by client address") \
	X(allowlist_sender,		"transactions allowlisted by sender address or domain") \
	X(config_reload_ok,		"configuration reloads that succeeded") \
	X(config_reload_fail,		"configuration reloads refused (old configuration kept)") \
	X(config_files_changed,		"reloads started because a table or list file changed") \
	X(store_error,			"store operations that failed (the check's error policy applied)") \
	X(store_timeout,		"store operations that timed out (redis)") \
	X(store_reconnect,		"store connections lost (redis)") \
	X(store_busy,			"store operations refused: too many in flight") \
	X(store_purged,			"expired store entries purged (lmdb)") \
	X(rcpt_map_valid,		"recipients found in a static recipient map") \
	X(rcpt_map_unknown,		"recipients rejected: not in the static recipient maps") \
	X(rcpt_map_reload_ok,		"recipient maps reloaded after a change") \
	X(rcpt_map_reload_refused,	"recipient map changes refused (empty, unreadable or bad)") \
	X(rcpt_cache_valid,		"recipients answered valid from the callout cache") \
	X(rcpt_cache_invalid,		"recipients rejected from the callout cache") \
	X(rcpt_cache_miss,		"callout cache misses") \
	X(rcpt_catchall,		"recipients accepted because their domain is catch-all") \
	X(rcpt_unverified_tempfail,	"recipients tempfailed: primary down and no cached answer") \
	X(rcpt_unverified_accept,	"recipients accepted unverified: primary down and no cached answer") \
	X(rcpt_callout_tempfail,	"recipients tempfailed: callout busy, 4xx or failed") \
	X(rcpt_unchecked,		"recipients in domains with neither map nor callout") \
	X(harvest_tarpit,		"invalid-recipient replies delayed (directory harvest)") \
	X(harvest_disconnect,		"sessions closed for too many invalid recipients") \
	X(harvest_ip_blocked,		"recipients refused: the client sent too many invalid recipients lately") \
	X(callout_started,		"callouts sent to the primary") \
	X(callout_valid,		"callouts: the primary accepted the recipient") \
	X(callout_invalid,		"callouts: the primary rejected the recipient (5xx)") \
	X(callout_tempfail,		"callouts: the primary answered 4xx") \
	X(callout_down,			"callouts that could not reach the primary") \
	X(callout_error,		"callouts that failed mid-dialogue (protocol, timeout)") \
	X(callout_busy,			"callouts refused: concurrency cap and queue full") \
	X(callout_coalesced,		"callouts answered by one already in flight for the same address") \
	X(callout_refresh,		"positive cache entries refreshed in the background") \
	X(callout_catchall_probe,	"catch-all probes (a random local part) sent") \
	X(callout_conn_open,		"connections opened to the primary") \
	X(callout_conn_reused,		"callouts on an already open connection") \
	X(primary_probe_ok,		"primary health probes that succeeded") \
	X(primary_probe_fail,		"primary health probes that failed") \
	X(primary_went_down,		"primary transitions to down") \
	X(primary_went_up,		"primary transitions to up") \
	X(defer_deferred,		"transactions deferred: the primary is up (defer)") \
	X(defer_retry_passed,		"transactions passed: a retry of a deferred one") \
	X(defer_allowlisted,		"transactions passed: allowlisted network") \
	X(rate_conn_ip,			"connections refused: per-IP connection rate") \
	X(rate_conn_net,		"connections refused: per-network connection rate") \
	X(rate_msg_ip,			"messages refused: per-IP message rate") \
	X(rate_msg_net,			"messages refused: per-network message rate") \
	X(rate_msg_sender_domain,	"messages refused: per-sender-domain message rate") \
	X(rate_rcpt_ip,			"recipients refused: per-IP recipient rate") \
	X(rate_rcpt_net,		"recipients refused: per-network recipient rate") \
	X(rate_rcpt_sender_domain,	"recipients refused: per-sender-domain recipient rate") \
	X(rate_rcpt_domain,		"recipients refused: per-recipient-domain recipient rate") \
	X(rate_msg_rcpt_domain,		"recipients refused: per-recipient-domain message rate") \
	X(rate_outage_cap,		"recipients refused: outage cap per recipient domain reached")

enum stat_id {
#define STATS_ENUM(name, help) STAT_##name,
	STATS_COUNTERS(STATS_ENUM)
#undef STATS_ENUM
	STAT_COUNT
};

/* Per-filter outcome counters, indexed by the filter's table position. */
enum stat_filter {
	STATF_CONTINUE = 0, STATF_ACCEPT, STATF_REJECT, STATF_TEMPFAIL,
	STATF_TAG, STATF_ERROR, STATF_TIMEOUT, STATF_COUNT
};
#define STATS_FILTERS_MAX	32

void	 stats_inc(enum stat_id id);
void	 stats_add(enum stat_id id, uint64_t n);
uint64_t stats_get(enum stat_id id);
void	 stats_filter_inc(unsigned filter, enum stat_filter what);
uint64_t stats_filter_get(unsigned filter, enum stat_filter what);
/* Names filter slots for output; called once per filter at start. */
void	 stats_filter_name(unsigned filter, const char *name);

/* Gauges: current values owned elsewhere, read at dump time. */
struct stats_gauges {
	uint64_t sessions;
	uint64_t backend_conns;
	uint64_t spool_memory;
	int	 backend_up;
	int	 primary_up;		/* -1: no primary configured, or unknown */
	uint64_t primary_since;		/* wall clock seconds of the last change */
	uint64_t callout_conns;
	uint64_t callout_queued;
	int	 store_up;		/* -1: no store */
};
/* Prometheus text exposition; one "mxguard_<name>_total" per counter. */
void	 stats_write_prometheus(FILE *f, const struct stats_gauges *g);
/* One log line of every non-zero counter, "stats name=value ...". */
void	 stats_log(const struct stats_gauges *g);
const char *stats_name(enum stat_id id);

#endif
