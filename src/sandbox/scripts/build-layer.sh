#!/bin/sh
# Builds one shared filesystem layer of the sandbox fleet by running a setup script with
# real tools (dpkg, apt-get, useradd) in a chroot whose root is an overlay over the real
# "/". Every write lands in UPPER, which later becomes a read-only lower layer of each
# host; the real system is never written. Runs in a private mount namespace
# (`unshare --mount`), so the mounts below vanish with it.
#
# usage: build-layer.sh LOWER UPPER WORK MERGED REPO DEBS SETUP [ARGS...]
#   LOWER  colon-separated lower layers, top first (ends with "/")
#   REPO   the fleet's apt repository, bound read-only at /srv/steward-apt
#   DEBS   a folder of extra .deb files, bound read-only at /mnt/steward-debs
#   SETUP  a shell script run inside the chroot with ARGS
# Environment: RPM_REPO (optional), the fleet's rpm repository, bound read-only at
#   /srv/steward-rpm for the layers of dnf hosts.
set -eu
lower=$1 upper=$2 work=$3 merged=$4 repo=$5 debs=$6 setup=$7
shift 7

mkdir -p "$upper" "$work" "$merged"
mount -t overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" steward-layer "$merged"
# Kernel interfaces and scratch space come from mounts, so none of them lands in the layer.
# /dev is a private tmpfs with copies of the few device nodes setup needs, never the
# machine's own /dev: a maintainer script that replaces /dev/null (udev's and systemd's
# can) would otherwise replace the machine's.
mount -t tmpfs -o size=1m,mode=755,nosuid,noexec steward-layer-dev "$merged/dev"
cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "$merged/dev/"
mkdir "$merged/dev/pts" "$merged/dev/shm"
ln -s /proc/self/fd "$merged/dev/fd"
ln -s /proc/self/fd/0 "$merged/dev/stdin"
ln -s /proc/self/fd/1 "$merged/dev/stdout"
ln -s /proc/self/fd/2 "$merged/dev/stderr"
mount -t proc proc "$merged/proc"
mount -t tmpfs -o size=256m steward-tmp "$merged/tmp"
mount -t tmpfs -o size=16m steward-run "$merged/run"
mkdir -p "$merged/srv/steward-apt" "$merged/mnt/steward-debs"
mount --bind "$repo" "$merged/srv/steward-apt"
mount --bind "$debs" "$merged/mnt/steward-debs"
if [ -n "${RPM_REPO:-}" ]; then
  mkdir -p "$merged/srv/steward-rpm"
  mount --bind "$RPM_REPO" "$merged/srv/steward-rpm"
  mount -o remount,bind,ro "$merged/srv/steward-rpm"
fi
cp "$setup" "$merged/tmp/setup.sh"
exec chroot "$merged" /bin/sh /tmp/setup.sh "$@"
