# Every end-to-end test, spelled out for automake (Makefile.am includes
# this file). Each is independent: tests/e2e/lib.sh gives it a private
# directory and free ports. Helpers (not tests): lib.sh, smtpraw.py,
# sinkmsg.py, stallsink.py, mkmsg.py, smuggle.sh, hostile.py, hostile_lib.sh;
# for t_rcpt_*: rcptlib.sh, rcpt_smtp.py, fake_primary.py.
E2E_TESTS = \
	tests/e2e/t_relay_delivery_bytes.sh \
	tests/e2e/t_relay_dot_lines.sh \
	tests/e2e/t_relay_8bit_body.sh \
	tests/e2e/t_relay_pipelining_order.sh \
	tests/e2e/t_relay_access_denied.sh \
	tests/e2e/t_relay_backup_postfix.sh \
	tests/e2e/t_relay_mixed_rcpts_postfix.sh \
	tests/e2e/t_relay_bdat_chunking.sh \
	tests/e2e/t_config_check_errors.sh \
	tests/e2e/t_access_client_reject.sh \
	tests/e2e/t_access_sender_reject.sh \
	tests/e2e/t_backend_down.sh \
	tests/e2e/t_backend_4xx_passthrough.sh \
	tests/e2e/t_backend_5xx_passthrough.sh \
	tests/e2e/t_backend_killed_mid_data.sh \
	tests/e2e/t_backend_dies_at_dot.sh \
	tests/e2e/t_backend_client_info_postfix.sh \
	tests/e2e/t_backend_tls_postfix.sh \
	tests/e2e/t_proxy_protocol_inbound.sh \
	tests/e2e/t_tls_starttls.sh \
	tests/e2e/t_tls_plaintext_injection.sh \
	tests/e2e/t_data_big_message.sh \
	tests/e2e/t_smtp_pipelining_into_data.sh \
	tests/e2e/t_smtp_client_timeouts.sh \
	tests/e2e/t_smtp_hostile_commands.sh \
	tests/e2e/t_smuggling_reject.sh \
	tests/e2e/t_smuggling_normalize.sh \
	tests/e2e/t_smuggling_pipelined_after_dot.sh \
	tests/e2e/t_signal_hup_under_traffic.sh \
	tests/e2e/t_signal_hup_bad_reload.sh \
	tests/e2e/t_signal_term_drain.sh \
	tests/e2e/t_signal_term_drain_timeout.sh \
	tests/e2e/t_bdat_edge_cases.sh \
	tests/e2e/t_bdat_chunking_off.sh \
	tests/e2e/t_limit_rcpts_size.sh \
	tests/e2e/t_limit_errors_delay.sh \
	tests/e2e/t_limit_backend_conns.sh \
	tests/e2e/t_limit_spool.sh \
	tests/e2e/t_limit_timeout_defaults.sh \
	tests/e2e/t_limit_sessions_net.sh \
	tests/e2e/t_hostile_slowloris.sh \
	tests/e2e/t_hostile_noread.sh \
	tests/e2e/t_hostile_long_lines_nul.sh \
	tests/e2e/t_hostile_pipelining.sh \
	tests/e2e/t_hostile_after_421.sh \
	tests/e2e/t_hostile_rset_noop_flood.sh \
	tests/e2e/t_hostile_half_close.sh \
	tests/e2e/t_hostile_tls_stall.sh \
	tests/e2e/t_hostile_conn_flood.sh \
	tests/e2e/t_scale_10k_idle.sh \
	tests/e2e/t_scale_fd_limit.sh \
	tests/e2e/t_rcpt_callout_primary.sh \
	tests/e2e/t_rcpt_static_maps.sh \
	tests/e2e/t_rcpt_open_relay.sh \
	tests/e2e/t_rcpt_redis_shared.sh \
	tests/e2e/t_rcpt_defer.sh \
	tests/e2e/t_rcpt_ratelimit.sh \
	tests/e2e/t_rcpt_harvest.sh \
	tests/e2e/t_rcpt_callout_cap.sh \
	tests/e2e/t_rcpt_pool_open_txn.sh
