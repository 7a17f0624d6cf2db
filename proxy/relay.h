/*
 * relay.h - the domains mxguard accepts mail for.
 *
 * This check is part of the core, not a filter: no configuration can turn
 * mxguard into an open relay. A recipient is relayable only when its
 * domain matches relay_domains and it carries no sender-specified routing
 * (user%host@dom, user!host@dom, @a:user@dom, an address literal), as
 * Postfix's reject_unauth_destination has it.
 *
 * Entries: "example.org" matches that domain only; ".example.org" matches
 * its subdomains (explicit, never implied); "/path" reads one entry per
 * line (first field; '#' comments), the format of a Postfix relay_domains
 * file or a hash: table source.
 */
#ifndef MXG_RELAY_H
#define MXG_RELAY_H

#include <stddef.h>

#include "config.h"

struct relay_domains;

struct relay_domains *relay_domains_build(const struct cfg_list *l,
	    const char *file, int line, struct cfg_errors *e);
void	 relay_domains_free(struct relay_domains **rp);
/* domain: as in the address, any case, no trailing dot required. */
int	 relay_domain_ok(const struct relay_domains *r, const char *domain);
/*
 * The whole check for one recipient address (no angle brackets).
 * 0: relayable; -1: not (why set to a short log reason).
 */
int	 relay_rcpt_ok(const struct relay_domains *r, const char *addr,
	    const char **why);
size_t	 relay_domains_count(const struct relay_domains *r);

#endif
