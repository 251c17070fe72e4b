#!/bin/sh
# Runs inside the chroot of build-layer.sh, over the common layer: turns a host into a
# dnf host. Its package manager is dnf 4 with its own rpm database (/var/lib/rpm, in
# the host's overlay like every other file), its only repository the fleet's rpm
# repository (file:, bound read-only at /srv/steward-rpm), and /etc/os-release names a
# dnf distribution. apt and dpkg are hidden (whiteouts in this layer), so steward
# detects dnf on these hosts as it would on Fedora. Arguments: none.
set -eu

# Debian's rpm keeps its database in ~/.rpmdb (a per-user one); a dnf distribution's
# is /var/lib/rpm, shared by every user.
mkdir -p /etc/rpm /var/lib/rpm /etc/yum.repos.d /srv/steward-rpm
echo '%_dbpath /var/lib/rpm' > /etc/rpm/macros.steward-sandbox

# Fedora's own dnf.conf.
cat > /etc/dnf/dnf.conf <<'CONF'
[main]
gpgcheck=True
installonly_limit=3
clean_requirements_on_remove=True
best=False
skip_if_unavailable=True
CONF
# The only repository; its test packages are unsigned.
cat > /etc/yum.repos.d/steward-sandbox.repo <<'CONF'
[steward-sandbox]
name=steward sandbox test packages
baseurl=file:///srv/steward-rpm
enabled=1
gpgcheck=0
CONF
# Debian's dnf-plugins-core enables the "local" plugin, which Fedora ships apart
# (python3-dnf-plugin-local) and does not install: it adds a repository of its own.
printf '[main]\nenabled = false\n' > /etc/dnf/plugins/local.conf

# What steward and a person read to tell the distribution. ID and VERSION_ID are
# Fedora's; the name says what the host really is.
rm -f /etc/os-release
cat > /etc/os-release <<'CONF'
NAME="steward sandbox (dnf)"
ID=fedora
ID_LIKE="rhel centos fedora"
VERSION_ID=40
PRETTY_NAME="steward sandbox dnf host (Fedora-like, dnf 4)"
CONF

# No apt, no dpkg: a dnf host has neither.
for tool in apt apt-get apt-cache apt-mark apt-config dpkg dpkg-query dpkg-deb; do
  rm -f "/usr/bin/$tool"
done

# The release package first (it tells dnf its release version), then the metadata
# cache, warm, so read-only commands run with -C (cache only) from the start.
dnf -q -y install steward-release > /dev/null
dnf -q makecache > /dev/null
