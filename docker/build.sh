#!/bin/bash
# docker/build.sh - build the mxguard image (localhost/mxguard:latest) with
# rootful podman, from Debian's packages only (no container registry).
#
#   1. installs podman, runc and mmdebstrap with apt-get if missing;
#   2. writes the private containers.conf (docker/lib.sh);
#   3. makes the base image localhost/debian:bookworm-slim with mmdebstrap
#      if it is missing (minbase, merged /usr, no docs/man/locales, apt
#      caches cleaned: about 78 MB);
#   4. podman build --pull=never -t mxguard:latest -f docker/Dockerfile .
#
# Usage (root):  bash docker/build.sh
# Environment:   JOBS=N          make jobs in the builder (default: CPUs)
#                REBUILD_BASE=1  make the base image again
#                MXG_DOCKER_STATE=DIR  containers.conf and base tarball
#                                (default /var/tmp/mxguard-docker)
# Run by hand; not part of scripts/test-all.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=docker/lib.sh
. docker/lib.sh

need_root
t0=$(now)
t=$(now)
need_packages podman:podman runc:runc mmdebstrap:mmdebstrap
say "tools ready ($(elapsed "$t") s)"
containers_conf
say "CONTAINERS_CONF=$CONTAINERS_CONF"

# ---- the base image -----------------------------------------------------------
if [ -n "${REBUILD_BASE:-}" ] || ! podman image exists "$BASE_IMAGE"; then
	t=$(now)
	hooks=/usr/share/mmdebstrap/hooks/merged-usr
	[ -d "$hooks" ] || die "$hooks missing (mmdebstrap too old?)"
	sources=/etc/apt/sources.list.d/debian.sources
	[ -f "$sources" ] || sources=http://deb.debian.org/debian
	tar=$MXG_DOCKER_STATE/bookworm-slim.tar
	rm -f "$tar"
	# The host's own sources file as the mirror: the same repository (and
	# snapshot, if the host pins one) as the host. The merged-usr hook
	# avoids usrmerge (and the perl it pulls in).
	nice -n 10 mmdebstrap --quiet --variant=minbase --hook-dir="$hooks" \
	    --customize-hook="copy-in docker/base/docker-clean docker/base/docker-no-languages /etc/apt/apt.conf.d/" \
	    --dpkgopt='path-exclude=/usr/share/man/*' \
	    --dpkgopt='path-exclude=/usr/share/locale/*' \
	    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
	    --dpkgopt='path-exclude=/usr/share/doc/*' \
	    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	    --dpkgopt='path-exclude=/usr/share/info/*' \
	    bookworm "$tar" "$sources"
	podman rmi -f "$BASE_IMAGE" >/dev/null 2>&1 || true
	podman import --quiet --change 'CMD ["bash"]' "$tar" "$BASE_IMAGE" >/dev/null
	rm -f "$tar"
	say "base image $BASE_IMAGE made with mmdebstrap ($(elapsed "$t") s)"
else
	say "base image $BASE_IMAGE present"
fi

# ---- the mxguard image --------------------------------------------------------
t=$(now)
# --network=host: the RUN steps' apt-get goes straight out from the host
# (the default bridge would NAT it and switch on host forwarding).
nice -n 10 podman build --pull=never --network=host \
    --build-arg JOBS="${JOBS:-}" \
    -t "$IMAGE" -f docker/Dockerfile .
say "image $IMAGE built ($(elapsed "$t") s)"
podman image ls "$IMAGE"
podman image ls "$BASE_IMAGE"
say "done in $(elapsed "$t0") s; smoke test: bash docker/smoke.sh"
