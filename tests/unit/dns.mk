# dns.mk - unit tests of the resolver and the DNS checks (issue 5), kept in
# their own fragment so the list merges cleanly with the core's.
DNS_UNIT_TESTS =
