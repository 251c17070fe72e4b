#!/bin/sh
# Runs inside the chroot of build-layer.sh: turns a copy of this machine into the
# common base of every sandbox host. Arguments: the sudo .deb to install ("" when the
# machine already has sudo).
set -eu
sudo_deb=$1
export DEBIAN_FRONTEND=noninteractive

# No package may start a service inside the layer or a host: there is no init system.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d

rm -f /var/lib/man-db/auto-update
if [ -n "$sudo_deb" ]; then
  dpkg -i "/mnt/steward-debs/$sudo_deb" > /dev/null
fi

# The fleet's file: repository is the only apt source: apt must never reach a network.
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* /var/cache/apt/*.bin
find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete
for f in /etc/apt/apt.conf.d/*; do
  case "${f##*/}" in 01autoremove | 70debconf) ;; *) rm -f "$f" ;; esac
done
echo 'deb [trusted=yes] file:/srv/steward-apt ./' > /etc/apt/sources.list.d/steward-sandbox.list
cat > /etc/apt/apt.conf.d/90steward-sandbox <<'CONF'
Acquire::Languages "none";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Dpkg::Use-Pty "false";
CONF
apt-get update -qq > /dev/null

# The login user: key authentication only ("*" is no password, not a locked account,
# which sshd without PAM would refuse), passwordless sudo.
useradd --no-create-home --home-dir /home/steward --shell /bin/bash --user-group steward
usermod --password '*' steward
echo 'steward ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/steward
chmod 440 /etc/sudoers.d/steward

# Each host brings its own ed25519 key; the machine's keys must not show through.
rm -f /etc/ssh/ssh_host_* /etc/ssh/sshd_config.d/*
cat > /etc/ssh/sshd_config <<'CONF'
Port 2222
HostKey /etc/ssh/ssh_host_ed25519_key
# The default post-quantum exchange costs ~130 ms per connection; tests open many.
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 200:30:400
MaxSessions 64
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
CONF

# reboot asks the host's init (PID 1) to end every process, renew /run and the boot id,
# then start sshd again: connections really drop and come back.
rm -f /usr/sbin/reboot
cat > /usr/sbin/reboot <<'SH'
#!/bin/sh
if [ "$(id -u)" != 0 ]; then
  echo "reboot: must be superuser." >&2
  exit 1
fi
kill -USR1 1
sleep 30
SH
chmod 755 /usr/sbin/reboot

mkdir -p /srv/steward-apt /.oldroot
# No machine identity may be inherited: each host writes its own at start.
rm -f /etc/machine-id /var/lib/dbus/machine-id
