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

# A SysV service, so `service steward-demo start|stop|restart|reload|status` really
# starts and stops a process on hosts without systemd (the sandbox has no init system
# but its own PID 1). The daemon only sleeps; its pid file lives on the host's /run,
# which a reboot renews, so a reboot leaves it stopped as a real one would.
cat > /usr/sbin/steward-demo-daemon <<'SH'
#!/bin/sh
trap 'exit 0' TERM
trap 'echo reloaded >> /run/steward-demo.log' HUP
echo started >> /run/steward-demo.log
while :; do sleep 1; done
SH
chmod 755 /usr/sbin/steward-demo-daemon
cat > /etc/init.d/steward-demo <<'SH'
#!/bin/sh
### BEGIN INIT INFO
# Provides:          steward-demo
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: steward sandbox demo service
### END INIT INFO
PIDFILE=/run/steward-demo.pid
DAEMON=/usr/sbin/steward-demo-daemon
# Read from /proc, so `status` answers unprivileged users too (signals to root's process would be refused).
running() { pid=$(cat "$PIDFILE" 2> /dev/null) && [ -n "$pid" ] && tr '\000' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -q steward-demo-daemon; }
case "$1" in
  start) running || start-stop-daemon --start --background --make-pidfile --pidfile "$PIDFILE" --startas "$DAEMON" ;;
  stop) start-stop-daemon --stop --quiet --oknodo --retry TERM/5/KILL/2 --pidfile "$PIDFILE" && rm -f "$PIDFILE" ;;
  restart) "$0" stop && "$0" start ;;
  reload) running && start-stop-daemon --stop --signal HUP --pidfile "$PIDFILE" ;;
  status) if running; then echo "steward-demo is running"; else echo "steward-demo is not running"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 2 ;;
esac
SH
chmod 755 /etc/init.d/steward-demo

mkdir -p /srv/steward-apt /.oldroot
# No machine identity may be inherited: each host writes its own at start.
rm -f /etc/machine-id /var/lib/dbus/machine-id
