# shellcheck shell=bash disable=SC2034
# docker/lib.sh - shared by build.sh and smoke.sh (sourced, not run).
#
# Rootful podman from Debian, with a private containers.conf (runtime runc,
# ulimits within the host's hard limits, never pull) so that /etc stays as
# it is. Nothing here talks to a container registry.

# Where the private containers.conf and the base tarball live.
MXG_DOCKER_STATE=${MXG_DOCKER_STATE:-/var/tmp/mxguard-docker}
BASE_IMAGE=localhost/debian:bookworm-slim
IMAGE=${MXG_IMAGE:-localhost/mxguard:latest}

say() { printf '%s: %s\n' "${0##*/}" "$*"; }
die() { say "error: $*" >&2; exit 1; }

# Seconds since the epoch, with milliseconds; elapsed SINCE: "12.3".
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

need_root() {
	[ "$(id -u)" -eq 0 ] ||
	    die "run as root (rootful podman; apt-get installs what is missing)"
}

# need_packages CMD:PACKAGE ...: apt-get installs each PACKAGE whose CMD is
# not on PATH (one apt-get for all of them).
need_packages() {
	local want="" pair
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || want="$want ${pair#*:}"
	done
	[ -n "$want" ] || return 0
	say "installing$want"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	# podman's Recommends bring slirp4netns, netavark, buildah, uidmap,
	# fuse-overlayfs: wanted for -p port publishing.
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $want >/dev/null
}

# The private containers.conf, written from the actual hard limits: podman's
# default ulimits (nofile 1048576) are above them and without
# CAP_SYS_RESOURCE every run would fail; crun (Debian's default runtime)
# refuses a hybrid cgroup layout, runc does not.
containers_conf() {
	local nofile nproc
	nofile=$(ulimit -Hn)
	nproc=$(ulimit -Hu)
	[ "$nofile" = unlimited ] && nofile=1048576
	[ "$nproc" = unlimited ] && nproc=32768
	[ "$nproc" -gt 32768 ] && nproc=32768
	mkdir -p "$MXG_DOCKER_STATE"
	cat > "$MXG_DOCKER_STATE/containers.conf.new" <<EOF
# written by mxguard's docker/lib.sh from the hard limits (ulimit -Hn, -Hu)
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
pull_policy = "never"
EOF
	mv "$MXG_DOCKER_STATE/containers.conf.new" "$MXG_DOCKER_STATE/containers.conf"
	export CONTAINERS_CONF="$MXG_DOCKER_STATE/containers.conf"
}
