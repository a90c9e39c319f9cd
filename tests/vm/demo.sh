#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's Quick start demo (human-readable, not TAP); run it with:
#   tests/vm/run-vm --build-root build --raw tests/vm/demo.sh
# It points the kernel's module helper at a logging wrapper with kmod-sysctl, makes the kernel
# request a module by mounting a filesystem, and shows what the helper was asked and what loaded.

# Shows each command as typed at a root prompt, then its output (stderr too).
show() {
    printf '\n# %s\n' "$*"
    "$@" 2>&1
}

if [ -x /usr/sbin/kmod-sysctl ]; then
    sysctl_tool=/usr/sbin/kmod-sysctl
else
    sysctl_tool=
    echo "(kmod-sysctl is not built; using /proc/sys/kernel/modprobe directly)"
fi
set_helper() {
    if [ -n "$sysctl_tool" ]; then
        show kmod-sysctl "modprobe=$1"
    else
        show sh -c "echo $1 >/proc/sys/kernel/modprobe && cat /proc/sys/kernel/modprobe"
    fi
}

echo "kmod-tools demo on Linux $(uname -r) (QEMU)"
[ -z "$sysctl_tool" ] || show kmod-sysctl

# A wrapper that logs every request the kernel makes, then hands it to kmod's modprobe.
mkdir -p /usr/local/sbin
cat >/usr/local/sbin/modprobe-logger <<'EOF'
#!/bin/sh
echo "$(date +%T) modprobe $*" >>/run/modprobe-requests.log
exec /sbin/modprobe "$@"
EOF
chmod 0755 /usr/local/sbin/modprobe-logger
show cat /usr/local/sbin/modprobe-logger
set_helper /usr/local/sbin/modprobe-logger

# The kernel has no xfs yet, so mounting one makes it ask the helper for "fs-xfs".
show /sbin/lsmod
show mount -t xfs none /mnt
show cat /run/modprobe-requests.log
show /sbin/lsmod

if [ -n "$sysctl_tool" ]; then
    # kmod-sysctl refuses helpers that someone other than root could replace.
    mkdir -p /tmp/shared
    chmod 0777 /tmp/shared
    cp /usr/local/sbin/modprobe-logger /tmp/shared/helper
    show kmod-sysctl modprobe=/tmp/shared/helper
    show kmod-sysctl --json
fi
set_helper /sbin/modprobe
exit 0
