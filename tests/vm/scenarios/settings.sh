#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Driver settings kept across unload and reload on the real kernel: kmod-reap saves what was changed,
# kmod-request restores it; precedence, strings with spaces, read-only storage, corrupt files.
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh

settings=/var/lib/kmod-tools/settings
nlm_timeout() { cat /sys/module/lockd/parameters/nlm_timeout 2>/dev/null; }

check "kmod-request lockd" -- kmod-request lockd
check_eq "nlm_timeout starts at its default" 10 "$(nlm_timeout)"
check_match "the record keeps the load-time parameters" '"nlm_timeout": "10"' "$(cat /run/kmod-tools/on-demand/lockd)"
# lockd rejects a trailing newline, and values outside 3..20.
printf 15 >/sys/module/lockd/parameters/nlm_timeout
check "kmod-reap lockd unloads it" -- kmod-reap lockd
check_fail "lockd is gone" -- module_loaded lockd
check "its settings file appeared" -- test -f "$settings/lockd.conf"
check_match "it holds the changed value" '^nlm_timeout=15$' "$(cat "$settings/lockd.conf")"
check_no_match "and not the unchanged ones" '^nsm_use_hostnames=' "$(cat "$settings/lockd.conf")"
check_eq "it is root-only" "-rw-------" "$(ls -l "$settings/lockd.conf" | cut -c1-10)"
check_match "--list-settings shows it" '^lockd: nlm_timeout=15$' "$(kmod-reap --list-settings)"
check "kmod-request lockd again" -- kmod-request lockd
check_eq "nlm_timeout came back as 15" 15 "$(nlm_timeout)"

# Precedence: command line > saved settings > modprobe.d.
mkdir -p /etc/modprobe.d
echo 'options lockd nlm_timeout=18' >/etc/modprobe.d/lockd.conf
kmod-reap lockd >/dev/null 2>&1
check_fail "lockd unloaded again" -- module_loaded lockd
kmod-request lockd
check_eq "saved settings win over modprobe.d" 15 "$(nlm_timeout)"
kmod-reap lockd >/dev/null 2>&1
kmod-request lockd nlm_timeout=12
check_eq "the command line wins over saved settings" 12 "$(nlm_timeout)"
kmod-reap lockd >/dev/null 2>&1
check_match "and was saved in turn" '^nlm_timeout=12$' "$(cat "$settings/lockd.conf")"
kmod-request --no-restore lockd
check_eq "--no-restore: modprobe.d's value" 18 "$(nlm_timeout)"
rm /etc/modprobe.d/lockd.conf
kmod-reap lockd >/dev/null 2>&1

# A string with spaces round-trips (scsi_debug's inq_vendor, 8 characters at most).
check "kmod-request scsi_debug" -- kmod-request scsi_debug
# printf, not echo: the kernel would keep echo's newline, which no load-time option can carry.
check "inq_vendor is writable" -- sh -c 'printf "Kt  Ven" >/sys/module/scsi_debug/parameters/inq_vendor'
check "kmod-reap scsi_debug" -- kmod-reap scsi_debug
check_fail "scsi_debug is gone" -- module_loaded scsi_debug
check_match "the string was saved as is" '^inq_vendor=Kt  Ven$' "$(cat "$settings/scsi_debug.conf")"
check "kmod-request scsi_debug again" -- kmod-request scsi_debug
check_eq "the string with two spaces came back" "Kt  Ven" "$(cat /sys/module/scsi_debug/parameters/inq_vendor)"

# Storage that cannot be written: the module stays.
kmod-request lockd
printf 9 >/sys/module/lockd/parameters/nlm_timeout
mount -t tmpfs -o ro,mode=0755 none /var/lib/kmod-tools
run_cmd kmod-reap lockd
check_eq "read-only settings storage: exit 1" 1 "$RUN_STATUS"
check_match "read-only settings storage: says why" "not unloading lockd: cannot save its settings: .*Read-only file system" "$RUN_ERR"
check "read-only settings storage: lockd stays loaded" -- module_loaded lockd
run_cmd kmod-reap --delay 0
check "a sweep refuses too (lockd was loaded on demand)" -- module_loaded lockd
check_match "and says why" "not unloading lockd: cannot save its settings" "$RUN_ERR"
umount /var/lib/kmod-tools
check "with storage back, lockd goes" -- kmod-reap lockd
check_match "with its new value" '^nlm_timeout=9$' "$(cat "$settings/lockd.conf")"

# A corrupt file: ignored with a warning, the module loads with defaults.
head -c 20 "$settings/lockd.conf" >/run/truncated && cat /run/truncated >"$settings/lockd.conf"
run_cmd kmod-request lockd
check_eq "corrupt settings: the module still loads" 0 "$RUN_STATUS"
check_match "corrupt settings: a warning names the file" "warning: corrupt settings $settings/lockd.conf" "$RUN_ERR"
check_eq "corrupt settings: defaults" 10 "$(nlm_timeout)"
kmod-reap lockd >/dev/null 2>&1

# A foreign-owned file is not trusted either.
printf '# kmod-tools saved settings 1\nnlm_timeout=13\n# end\n' >"$settings/lockd.conf"
chown 65534 "$settings/lockd.conf"
run_cmd kmod-request lockd
check_match "someone else's settings file: ignored with a warning" "refusing $settings/lockd.conf: owned by uid 65534" "$RUN_ERR"
check_eq "someone else's settings file: defaults" 10 "$(nlm_timeout)"
kmod-reap lockd >/dev/null 2>&1

# Saved parameters the module no longer has, and values that cannot be passed, are dropped.
printf '# kmod-tools saved settings 1\nnlm_timeout=14\nkt_gone=1\nnsm_use_hostnames=Y"\n# end\n' >"$settings/lockd.conf"
chown 0 "$settings/lockd.conf"
chmod 0600 "$settings/lockd.conf"
run_cmd kmod-request lockd
check_match "an unknown saved parameter is dropped with a warning" "dropping saved setting kt_gone of lockd: the module has no such parameter" "$RUN_ERR"
check_match "an unpassable value is dropped with a warning" "dropping saved setting nsm_use_hostnames of lockd" "$RUN_ERR"
check_eq "the rest is restored" 14 "$(nlm_timeout)"

check "--forget-settings lockd" -- kmod-reap --forget-settings lockd
check_fail "the file is gone" -- test -e "$settings/lockd.conf"
check_exit "--forget-settings of nothing: exit 1" 1 -- kmod-reap --forget-settings lockd

tap_done
