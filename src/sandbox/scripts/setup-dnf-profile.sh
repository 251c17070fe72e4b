#!/bin/sh
# Runs inside the chroot of build-layer.sh, over the dnf layer: installs the given
# packages of the fleet's rpm repository with dnf, giving hosts of this profile their
# starting versions. Arguments: name-version-release specs.
set -eu
dnf -q -y install "$@" > /dev/null
