E2E_TESTS = \
	tests/e2e/t_rcpt_callout_primary.sh \
	tests/e2e/t_rcpt_static_maps.sh \
	tests/e2e/t_rcpt_open_relay.sh \
	tests/e2e/t_rcpt_redis_shared.sh \
	tests/e2e/t_rcpt_defer.sh \
	tests/e2e/t_rcpt_ratelimit.sh \
	tests/e2e/t_rcpt_harvest.sh \
	tests/e2e/t_rcpt_callout_cap.sh
