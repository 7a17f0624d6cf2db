#!/bin/sh
# t_rcpt_pool_open_txn: a session that ends mid-transaction (the client
# drops the connection after RCPT, or a filter disconnects it) must not
# hand its backend connection, with MAIL still open there, to the pool:
# the next session's MAIL would get the backup's "503 nested MAIL". Found
# by t_rcpt_harvest (the rcpt filter's disconnect) with the backend pool.
. "$(dirname "$0")/rcptlib.sh"

start_primary
start_backup
mxg_conf p <<EOF2
backend_pool_max = 4
EOF2
start_mxguard p "$T/p.conf"
for i in 1 2 3; do
	smtp_session p --rcpt alice@example.test --drop
	expect_rcpt alice@example.test '250 '
	smtp_session p --rcpt bob@example.test --data -
	expect_last '^MAIL 250 '
	expect_rcpt bob@example.test '250 '
	expect_last '^EOM 250 '
done
expect_no_log p 'nested MAIL'
expect_no_bounce
finish
