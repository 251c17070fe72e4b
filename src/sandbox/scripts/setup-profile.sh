#!/bin/sh
# Runs inside the chroot of build-layer.sh: installs the given packages of the fleet's
# repository with dpkg, giving hosts of this profile their starting versions.
# Arguments: .deb file names in /srv/steward-apt.
set -eu
export DEBIAN_FRONTEND=noninteractive
cd /srv/steward-apt
dpkg -i "$@" > /dev/null
# A warm cache spares every host rebuilding it from the changed dpkg status.
apt-cache gencaches > /dev/null
