# dns.mk - unit tests of the resolver and the DNS checks (issue 5), kept in
# their own fragment so the list merges cleanly with the core's.
DNS_UNIT_TESTS =
DNS_UNIT_TESTS += tests/unit/test_dnsxl
tests_unit_test_dnsxl_SOURCES = tests/unit/test_dnsxl.c
tests_unit_test_dnsxl_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dnsxl_LDADD = $(UNIT_LDADD)

# the OpenSPF suite driver (run by tests/e2e/t_spf_openspf.sh)
check_PROGRAMS += tests/spf/spf_suite
tests_spf_spf_suite_SOURCES = tests/spf/spf_suite.c
tests_spf_spf_suite_LDADD = libmxguard.a $(MXG_LIBS)
DNS_UNIT_TESTS += tests/unit/test_spf_macro
tests_unit_test_spf_macro_SOURCES = tests/unit/test_spf_macro.c
tests_unit_test_spf_macro_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_spf_macro_LDADD = $(UNIT_LDADD)

# files the DNS tests read that no rule names
DNS_EXTRA_DIST = tests/spf/openspf_convert.py tests/spf/openspf_zones.py \
	tests/spf/openspf_known_failures.txt
