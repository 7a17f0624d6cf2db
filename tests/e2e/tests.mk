E2E_TESTS =
# issue 5: DNS checks (tests/e2e/dnslib.sh, zones in tests/e2e/zones)
E2E_TESTS += tests/e2e/t_dnsbl_score.sh
E2E_TESTS += tests/e2e/t_dnsbl_timeout.sh
E2E_TESTS += tests/e2e/t_spf_openspf.sh
E2E_TESTS += tests/e2e/t_spf_policy.sh
E2E_TESTS += tests/e2e/t_helo_checks.sh
E2E_TESTS += tests/e2e/t_allowlist.sh
E2E_TESTS += tests/e2e/t_rhsbl.sh
E2E_TESTS += tests/e2e/t_early_talker.sh
E2E_TESTS += tests/e2e/t_dns_resolver.sh
