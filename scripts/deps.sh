#!/bin/sh
# deps.sh - the Debian 12 packages mxguard needs to build, test and demo.
# Usage: sh scripts/deps.sh [--print]   (installs them unless --print)
set -e
PKGS="autoconf automake pkgconf make gcc clang libclang-rt-14-dev
 libevent-dev libssl-dev libpcre2-dev libunbound-dev nettle-dev libspf2-dev
 liblmdb-dev libhiredis-dev libcmocka-dev
 postfix postfix-policyd-spf-python swaks nsd redis-server redis-tools
 bind9-dnsutils openssl ca-certificates
 python3 procps psmisc iproute2 util-linux time git
 libnet-ssleay-perl libio-socket-ssl-perl"
if [ "${1:-}" = "--print" ]; then
	echo $PKGS
	exit 0
fi
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
# Postfix asks how to configure itself; mxguard's tests bring their own.
echo "postfix postfix/main_mailer_type select No configuration" |
    $SUDO debconf-set-selections
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends $PKGS
