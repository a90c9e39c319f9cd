#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Smoke scenario: proves the bench boots the real Debian kernel and kmod, modules.dep and the
# kernel's module-request path (kernel.modprobe helper) all work inside the VM.
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh

release=$(uname -r)
check "kernel $release has its module tree" -- test -f "/lib/modules/$release/modules.dep"
check "/proc/modules exists" -- test -f /proc/modules
check_match "/sbin/modprobe is kmod, not busybox" '^kmod version [0-9]+' "$(/sbin/modprobe --version 2>&1)"
check_match "dmesg still reads the kernel log" 'Linux version' "$(dmesg)"
check_eq "as_nobody runs as uid 65534" "65534:65534" "$(as_nobody id -u):$(as_nobody id -g)"

# A plain module: load, see it, remove it.
check_fail "dummy is not loaded at boot" -- module_loaded dummy
check "modprobe dummy" -- /sbin/modprobe dummy
check_match "lsmod lists dummy" '^dummy ' "$(/sbin/lsmod)"
check "dummy created the dummy0 interface" -- test -d /sys/class/net/dummy0
check "modprobe -r dummy" -- /sbin/modprobe -r dummy
check_fail "dummy is gone after modprobe -r" -- module_loaded dummy
check_fail "modprobe of a nonexistent module fails" -- /sbin/modprobe kmod-tools-no-such-module

# modules.dep: xfs needs libcrc32c, which modprobe must load first.
check_fail "libcrc32c is not loaded before xfs" -- module_loaded libcrc32c
check "modprobe xfs" -- /sbin/modprobe xfs
check "xfs is loaded" -- module_loaded xfs
check_match "libcrc32c was loaded as a dependency of xfs" '^libcrc32c .* xfs' "$(/sbin/lsmod)"
check "modprobe -r xfs" -- /sbin/modprobe -r xfs
check_fail "modprobe -r xfs also removed the unused libcrc32c" -- module_loaded libcrc32c

# The kernel's own module requests go to the helper named in /proc/sys/kernel/modprobe.
check_eq "kernel.modprobe defaults to /sbin/modprobe" /sbin/modprobe "$(cat /proc/sys/kernel/modprobe)"
helper=/run/modprobe-logger
cat >"$helper" <<'EOF'
#!/bin/sh
echo "$*" >>/run/requests.log
exec /sbin/modprobe "$@"
EOF
chmod 0755 "$helper"
check "set kernel.modprobe to a logging helper" -- sh -c "echo $helper >/proc/sys/kernel/modprobe"
check_eq "kernel.modprobe reads back the helper" "$helper" "$(cat /proc/sys/kernel/modprobe)"
# minix is a module in Debian's kernel and has no dependencies; nothing has loaded it yet.
check_fail "minix is not loaded yet" -- module_loaded minix
check_fail "mount -t minix without a device fails" -- mount -t minix none /mnt
check "the kernel ran the helper" -- test -s /run/requests.log
check_match "the helper got exactly '-q -- fs-minix'" '^-q -- fs-minix$' "$(cat /run/requests.log 2>/dev/null)"
check "the helper's modprobe loaded minix" -- module_loaded minix
check "restore kernel.modprobe" -- sh -c 'echo /sbin/modprobe >/proc/sys/kernel/modprobe'

tap_done
