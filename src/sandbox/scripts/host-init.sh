#!/bin/sh
# Init (PID 1) of one sandbox host, started by `unshare --mount --pid --uts --ipc --fork`.
# Builds the host's root (an overlay of the fleet's layers and the real "/" with its
# writes on a per-host tmpfs, its "disk"), pivots into it, then supervises sshd:
#   SIGUSR1  reboot: end every process, renew /run and the boot id, start sshd again
#   SIGUSR2  stop sshd and keep it stopped (the host becomes unreachable)
#   SIGHUP   start sshd again
# Environment: NAME ADDRESS PORT HOST_DIR LOWER REPO DISK_SIZE HIDE (colon-separated),
# and RPM_REPO on a dnf host (its rpm repository, bound read-only at /srv/steward-rpm).
set -eu

# Before /proc is replaced it still belongs to the outer pid namespace, so "self" names
# this shell's outer PID: the one the fleet records to signal and stop this host.
read -r outer_pid _ < /proc/self/stat
echo "$outer_pid" > "$HOST_DIR/init.pid"

disk=$HOST_DIR/disk
mount -t tmpfs -o "size=$DISK_SIZE,mode=755" "$NAME-disk" "$disk"
mkdir "$disk/upper" "$disk/work" "$disk/root"
root=$disk/root
mount -t overlay -o "lowerdir=$LOWER,upperdir=$disk/upper,workdir=$disk/work" "$NAME-disk" "$root"

mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
mount -t tmpfs -o size=1m,mode=755,nosuid,noexec steward-dev "$root/dev"
cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "$root/dev/"
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
mount -t tmpfs -o size=64m,nosuid,nodev shm "$root/dev/shm"

# The machine's private places and the project stay out of sight.
mount -t tmpfs -o size=64m,mode=700 "$NAME-root" "$root/root"
mount -t tmpfs -o size=64m,mode=755 "$NAME-home" "$root/home"
mount -t tmpfs -o size=256m,mode=1777 "$NAME-tmp" "$root/tmp"
old_ifs=$IFS
IFS=:
for path in $HIDE; do
  if [ -n "$path" ] && [ -d "$root$path" ]; then
    mount -t tmpfs -o size=1m,mode=755 "$NAME-hidden" "$root$path"
  fi
done
IFS=$old_ifs
mount --bind "$REPO" "$root/srv/steward-apt"
mount -o remount,bind,ro "$root/srv/steward-apt"
if [ -n "${RPM_REPO:-}" ]; then
  mount --bind "$RPM_REPO" "$root/srv/steward-rpm"
  mount -o remount,bind,ro "$root/srv/steward-rpm"
fi

# Identity: these writes land on the host's own disk.
hostname "$NAME"
echo "$NAME" > "$root/etc/hostname"
cp "$HOST_DIR/machine-id" "$root/etc/machine-id"
printf '127.0.0.1\tlocalhost\n%s\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$ADDRESS" "$NAME" > "$root/etc/hosts"
cp "$HOST_DIR/ssh_host_ed25519_key" "$HOST_DIR/ssh_host_ed25519_key.pub" "$root/etc/ssh/"
chmod 600 "$root/etc/ssh/ssh_host_ed25519_key"
mkdir -p "$root/home/steward/.ssh"
cp "$HOST_DIR/authorized_keys" "$root/home/steward/.ssh/authorized_keys"
chmod 700 "$root/home/steward/.ssh"
chmod 600 "$root/home/steward/.ssh/authorized_keys"
cd "$root"
pivot_root . .oldroot
cd /
umount -l /.oldroot
# Names resolve only now, in the host's own /etc/passwd.
chown -R steward:steward /home/steward

sshd_pid=
request=
boot() {
  umount /proc/sys/kernel/random/boot_id 2> /dev/null || true
  umount -l /run 2> /dev/null || true
  mount -t tmpfs -o size=16m,mode=755,nosuid,nodev "$NAME-run" /run
  mkdir -p /run/sshd /run/lock /run/user
  chmod 1777 /run/lock
  cat /proc/sys/kernel/random/uuid > /run/steward-boot-id
  mount --bind -o ro /run/steward-boot-id /proc/sys/kernel/random/boot_id
}
start_sshd() {
  /usr/sbin/sshd -D -e -o "ListenAddress=$ADDRESS:$PORT" &
  sshd_pid=$!
}
trap 'request=reboot' USR1
trap 'request=stop' USR2
trap 'request=start' HUP
trap '' TERM INT

boot
start_sshd
while :; do
  if [ -n "$sshd_pid" ]; then
    wait "$sshd_pid" || true
  else
    # sshd is stopped on purpose: sleep in the background so signals still interrupt.
    sleep 3600 &
    sleeper=$!
    wait "$sleeper" || true
    kill "$sleeper" 2> /dev/null || true
  fi
  case $request in
    reboot)
      # From PID 1, kill -1 reaches every other process of this namespace.
      kill -KILL -1 2> /dev/null || true
      sleep 0.5
      boot
      start_sshd
      ;;
    stop)
      [ -n "$sshd_pid" ] && kill -KILL "$sshd_pid" 2> /dev/null || true
      sshd_pid=
      ;;
    start)
      [ -n "$sshd_pid" ] || start_sshd
      ;;
    *)
      # sshd ended on its own: a supervisor brings it back.
      if [ -n "$sshd_pid" ] && ! kill -0 "$sshd_pid" 2> /dev/null; then
        sleep 0.2
        start_sshd
      fi
      ;;
  esac
  request=
done
