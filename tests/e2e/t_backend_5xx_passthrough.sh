#!/bin/sh
# t_backend_5xx_passthrough: the backend's 5xx replies to MAIL, RCPT, DATA
# and the end of data reach the client unchanged (code, enhanced code,
# text), logged as reject by=backend (backend_passthrough.sh).
. "$(dirname "$0")/lib.sh"

SINK_OPT=-f REPLY_OPT=-B CODE=554 ENH=5.7.1 TEXT="go away"
VERDICT=reject TXN_COUNTER=txn_rejected CLASS_COUNTER=backend_reply_5xx
. "$E2E_DIR/backend_passthrough.sh"
