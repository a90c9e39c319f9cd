#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's Quick start demo (human-readable, not TAP), run by tests/demo:
# kmod-sysctl makes kmod-request the kernel's module helper; the kernel asks it for modules;
# kmod-request loads them, records them as loaded on demand, audits them, and applies the policy;
# kmod-reap unloads them once idle for the unload delay, keeping their settings for the next load.

# Shows each command as typed at a root prompt, then its output (stderr too).
show() {
    printf '\n# %s\n' "$*"
    "$@" 2>&1
}

echo "kmod-tools demo on Linux $(uname -r) (Debian's kernel in QEMU)"
show kmod-sysctl

echo
echo "## kmod-sysctl refuses a helper that someone other than root could replace"
mkdir -p /tmp/shared
chmod 0777 /tmp/shared
cp /usr/sbin/kmod-request /tmp/shared/helper
show kmod-sysctl modprobe=/tmp/shared/helper
show kmod-sysctl modprobe=/usr/sbin/kmod-request unload_delay=2m
# Setting the helper set up the tracing instance that tells who asked; for its first 5 seconds its
# record may be incomplete, and a requester is then "ambiguous" (kmod-request(8), REQUESTERS).
sleep 5

echo
echo "## The kernel asks for modules; kmod-request serves them"
show /sbin/lsmod
show kmod-request --explain fs-xfs
show mount -t xfs none /mnt
mknod /run/tun c 10 200
show sh -c 'cat /run/tun'
show /sbin/lsmod
show ls /run/kmod-tools/on-demand
show cat /run/kmod-tools/on-demand/xfs
show sh -c "dmesg | grep 'kmod-request: audit'"

echo
echo "## An autoload policy: the kernel may not load what it denies"
mkdir -p /etc/kmod-tools
echo 'deny = fs-bfs dccp* algif_*' >/etc/kmod-tools/kmod-tools.conf
show cat /etc/kmod-tools/kmod-tools.conf
show mount -t bfs none /mnt
show sh -c "dmesg | grep 'kmod-request: audit' | tail -n 1"
show sh -c 'grep "^bfs " /proc/modules || echo "bfs is not loaded"'
show kmod-request -v bfs

echo
echo "## Idle modules loaded on demand go away again (kmod-reap, run by a timer)"
show kmod-sysctl unload_delay=3
show kmod-reap -v
show sleep 4
show kmod-reap
show /sbin/lsmod

echo
echo "## Driver settings survive the unload"
show kmod-request lockd
show sh -c 'printf 15 >/sys/module/lockd/parameters/nlm_timeout; cat /sys/module/lockd/parameters/nlm_timeout'
show kmod-reap lockd
show cat /var/lib/kmod-tools/settings/lockd.conf
show kmod-request -v lockd
show cat /sys/module/lockd/parameters/nlm_timeout

echo
echo "## Plans without loading, in modprobe's own format"
show kmod-request --show-depends fs-btrfs
show kmod-sysctl modprobe=/sbin/modprobe
exit 0
