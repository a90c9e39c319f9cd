#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package's maintainer scripts on a real kernel: removal sets kernel.modprobe back from
# kmod-request to /sbin/modprobe, now and in the sysctl.d file, and the kernel autoloads through it
# again, and kmod-tools' trace instance goes; an upgrade or someone else's helper is left alone;
# purge deletes the state. run-vm gets
# debian/kmod-tools.prerm and .postrm with --file (the sources: debhelper's additions only stop
# and purge the timer, which needs systemd).
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh

prerm=/scenario-files/kmod-tools.prerm
postrm=/scenario-files/kmod-tools.postrm
require_file "$prerm"
require_file "$postrm"
knob=/proc/sys/kernel/modprobe
dropin=/etc/sysctl.d/50-kmod-tools.conf
helper=/usr/sbin/kmod-request

check_eq "kernel.modprobe starts as /sbin/modprobe" /sbin/modprobe "$(cat "$knob")"
check "kmod-sysctl --persist modprobe=$helper" -- kmod-sysctl -q --persist "modprobe=$helper"
check_eq "the kernel calls kmod-request" "$helper" "$(cat "$knob")"
check_match "and will at boot" "^kernel.modprobe = $helper\$" "$(cat "$dropin")"
instance=/sys/kernel/tracing/instances/kmod-tools
check "and set up the trace instance" -- test -d "$instance"

# An upgrade keeps the helper: the new version's kmod-request replaces the old one.
run_cmd sh "$prerm" upgrade 0.2.0
check_eq "prerm upgrade succeeds" 0 "$RUN_STATUS"
check_eq "prerm upgrade leaves kernel.modprobe" "$helper" "$(cat "$knob")"
check_match "prerm upgrade leaves the sysctl.d file" "^kernel.modprobe = $helper\$" "$(cat "$dropin")"
check "prerm upgrade leaves the trace instance" -- test -d "$instance"

run_cmd sh "$prerm" remove
check_eq "prerm remove succeeds" 0 "$RUN_STATUS"
check_eq "prerm remove sets kernel.modprobe back to /sbin/modprobe" /sbin/modprobe "$(cat "$knob")"
check_match "and in the sysctl.d file" '^kernel.modprobe = /sbin/modprobe$' "$(cat "$dropin")"
check_no_match "which no longer names kmod-request" "^[^#]*kmod-request" "$(cat "$dropin")"
check_match "prerm remove says so" \
    "kmod-tools: kernel.modprobe named $helper, which is being removed; set it back to /sbin/modprobe now and at boot \\($dropin\\)" \
    "$RUN_ERR"
check "the sysctl.d file stays root's and 0644" -- test "$(stat -c '%a %u' "$dropin")" = "644 0"
check_fail "prerm remove removes the trace instance" -- test -e "$instance"

# The kernel's own requests work again through /sbin/modprobe (minix: a module nothing loaded).
check_fail "minix is not loaded yet" -- module_loaded minix
check_fail "mount -t minix without a device fails" -- mount -t minix none /mnt
check "the kernel loaded minix through /sbin/modprobe" -- module_loaded minix

# The helper named through a symlink counts too; someone else's helper does not.
mkdir -p /run/alias
ln -s "$helper" /run/alias/kmod-request
echo /run/alias/kmod-request >"$knob"
run_cmd sh "$prerm" remove
check_eq "a symlink to kmod-request is set back too" /sbin/modprobe "$(cat "$knob")"
printf '#!/bin/sh\nexec /sbin/modprobe "$@"\n' >/run/other-helper
chmod 0755 /run/other-helper
echo /run/other-helper >"$knob"
printf '%s\n' 'kernel.modprobe = /run/other-helper' >"$dropin"
run_cmd sh "$prerm" remove
check_eq "prerm remove leaves another helper alone" /run/other-helper "$(cat "$knob")"
check_eq "and its sysctl.d line" 'kernel.modprobe = /run/other-helper' "$(cat "$dropin")"
check_eq "and says nothing" "" "$RUN_ERR"

# Purge: the state goes, and the sysctl.d file once it names the distribution's helper.
run_cmd sh "$postrm" purge
check_eq "postrm purge succeeds" 0 "$RUN_STATUS"
check "purge keeps a sysctl.d file naming another helper" -- test -f "$dropin"
check_match "and says so" "keeping $dropin: it sets kernel.modprobe = /run/other-helper" "$RUN_ERR"
echo /sbin/modprobe >"$knob"
kmod-sysctl -q --persist "modprobe=$helper"
kmod-sysctl -q --persist unload_delay=5m
sh "$prerm" remove 2>/dev/null
mkdir -p /var/lib/kmod-tools/settings /run/kmod-tools/on-demand
echo 'param = 1' >/var/lib/kmod-tools/settings/lockd.conf
check "there is state to purge" -- test -f /var/lib/kmod-tools/settings/lockd.conf -a -d /run/kmod-tools
run_cmd sh "$postrm" purge
check_eq "postrm purge succeeds again" 0 "$RUN_STATUS"
check_fail "purge deletes /run/kmod-tools" -- test -e /run/kmod-tools
check_fail "purge deletes /var/lib/kmod-tools" -- test -e /var/lib/kmod-tools
check_fail "purge deletes the sysctl.d file" -- test -e "$dropin"
check_fail "purge deletes kmod-sysctl's drop-in and the empty /etc/kmod-tools" -- test -e /etc/kmod-tools
check_eq "kernel.modprobe is /sbin/modprobe at the end" /sbin/modprobe "$(cat "$knob")"

tap_done
