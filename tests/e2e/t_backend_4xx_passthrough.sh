#!/bin/sh
# t_backend_4xx_passthrough: the backend's 4xx replies to MAIL, RCPT, DATA
# and the end of data reach the client unchanged (code, enhanced code,
# text), logged as tempfail by=backend (backend_passthrough.sh).
. "$(dirname "$0")/lib.sh"

SINK_OPT=-r REPLY_OPT=-b CODE=451 ENH=4.7.1 TEXT="come back later"
VERDICT=tempfail TXN_COUNTER=txn_tempfailed CLASS_COUNTER=backend_reply_4xx
. "$E2E_DIR/backend_passthrough.sh"
