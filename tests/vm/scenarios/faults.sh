#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Faults on the real kernel: the state under /run/kmod-tools and the settings under
# /var/lib/kmod-tools full (ENOSPC) or read-only (EROFS) during requests and sweeps, and
# kernel.modules_disabled=1 set while requests and sweeps run. A module is never unloaded without
# its settings, no record or settings file is ever half-written, no temporary file outlives the
# next run, every refusal names its cause, and a module that could not be recorded is kept (it is
# never mistaken for one loaded on demand). modules_disabled cannot be undone: it comes last.
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh

state=/run/kmod-tools
records=$state/on-demand
storage=/var/lib/kmod-tools
settings=$storage/settings
nlm_timeout=/sys/module/lockd/parameters/nlm_timeout

# fill DIR: a file in DIR that takes all the space its file system has left.
fill() { dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null; true; }
# tiny_fs DIR: a 16 KiB tmpfs on DIR (root's, 0755, as the tools require), soon full.
tiny_fs() { mount -t tmpfs -o size=16k,mode=0755 kt-tiny "$1"; }
# temporaries DIR...: atomic_file's leftovers (.NAME.tmp-*), one per line.
temporaries() { find "$@" -name '.*.tmp-*' 2>/dev/null; }
# whole_records: every record is a complete JSON object (kmod-reap -n parses them all and warns
# about any it cannot); prints the complaints.
record_complaints() { kmod-reap -n --delay 1h 2>&1 >/dev/null | grep -E 'corrupt|cannot|refusing'; }
# settings_file_whole FILE: a saved-settings file from its header to its end marker.
settings_file_whole() {
    [ "$(head -n 1 "$1")" = '# kmod-tools saved settings 1' ] && [ "$(tail -n 1 "$1")" = '# end' ]
}

kmod-sysctl -q modprobe=/usr/sbin/kmod-request

# --- /run/kmod-tools full ------------------------------------------------------------------------
mkdir -p "$state"
tiny_fs "$state"
mkdir -m 0755 "$records"
fill "$state"
run_cmd kmod-request befs
check_eq "full /run: a request that cannot be recorded is exit 1" 1 "$RUN_STATUS"
check_match "and says so, naming the file and the cause" \
    "loaded befs for 'befs' but could not record it: cannot write $records/befs: No space left on device" "$RUN_ERR"
check "the module is loaded all the same" -- module_loaded befs
check_fail "no record, not even an empty one" -- test -e "$records/befs"
check_eq "no temporary file is left" "" "$(temporaries "$state")"
mkdir -p /mnt/minix
check_fail "full /run: mount -t minix, a kernel request" -- mount -t minix none /mnt/minix
check "the kernel's request is served all the same" -- module_loaded minix
check_match "the kernel log says it could not be recorded" \
    "kmod-request: loaded minix for 'fs-minix' but could not record it: .*No space left on device" "$(dmesg)"
check_fail "and there is no record of minix" -- test -e "$records/minix"
run_cmd kmod-reap -v --delay 0
check_eq "a sweep with a full /run: exit 0" 0 "$RUN_STATUS"
check "it keeps befs, unrecorded, as not loaded on demand" -- module_loaded befs
check_match "and says so" '^befs: not loaded on demand$' "$RUN_OUT"
check "and minix" -- module_loaded minix
rm "$state/filler"
check "with room again, kmod-request lockd records it" -- kmod-request lockd
check "a complete record" -- test -s "$records/lockd"
fill "$state"
run_cmd kmod-reap --delay 0 lockd
check_eq "a named reap with /run full: exit 0" 0 "$RUN_STATUS"
check_fail "unloads lockd (its parameters are unchanged: nothing to save)" -- module_loaded lockd
check_eq "no temporary file is left in /run" "" "$(temporaries "$state")"
check_eq "every record still parses" "" "$(record_complaints)"
umount "$state"
/sbin/rmmod befs minix

# --- /run/kmod-tools read-only -------------------------------------------------------------------
check "kmod-request befs" -- kmod-request befs
mount -o remount,ro /run
run_cmd kmod-request lockd
check_eq "read-only /run: exit 1" 1 "$RUN_STATUS"
check_match "says why" "loaded sunrpc grace lockd for 'lockd' but could not record it: .*Read-only file system" "$RUN_ERR"
check "lockd is loaded" -- module_loaded lockd
run_cmd kmod-reap --delay 0
check_eq "a sweep with a read-only /run: exit 1" 1 "$RUN_STATUS"
check_match "names the lock it cannot open" "cannot open lock file $state/reap.lock: Read-only file system" "$RUN_ERR"
check "it unloads nothing: befs stays" -- module_loaded befs
mount -o remount,rw /run
run_cmd kmod-reap -v --delay 0
check_eq "/run writable again: the sweep works" 0 "$RUN_STATUS"
check_fail "befs, recorded before, goes" -- module_loaded befs
check "lockd, never recorded, stays" -- module_loaded lockd
/sbin/rmmod lockd grace sunrpc 2>/dev/null

# --- /var/lib/kmod-tools full: settings cannot be saved ------------------------------------------
check "kmod-request lockd" -- kmod-request lockd
printf 15 >"$nlm_timeout"
check "kmod-reap lockd saves nlm_timeout=15 and unloads it" -- kmod-reap lockd
saved=$(cat "$settings/lockd.conf")
check "kmod-request lockd restores it" -- kmod-request lockd
check_eq "nlm_timeout is 15" 15 "$(cat "$nlm_timeout")"
# The same file on a file system that is full.
cp -a "$storage" /run/storage-copy
tiny_fs "$storage"
cp -a /run/storage-copy/. "$storage/"
fill "$storage"
printf 16 >"$nlm_timeout"
run_cmd kmod-reap lockd
check_eq "full settings storage: a named reap is exit 1" 1 "$RUN_STATUS"
check_match "and says why" \
    "not unloading lockd: cannot save its settings: cannot write $settings/lockd.conf: No space left on device" "$RUN_ERR"
check "lockd stays loaded" -- module_loaded lockd
check_eq "the saved file is the old one, whole" "$saved" "$(cat "$settings/lockd.conf")"
run_cmd kmod-reap --delay 0
check_eq "a sweep: exit 1" 1 "$RUN_STATUS"
check "lockd still stays" -- module_loaded lockd
check_eq "no temporary file is left in /var/lib" "" "$(temporaries "$storage")"
# Read-only storage (EROFS).
rm "$storage/filler"
mount -o remount,ro "$storage"
run_cmd kmod-reap lockd
check_eq "read-only settings storage: exit 1" 1 "$RUN_STATUS"
check_match "says why" "not unloading lockd: cannot save its settings: .*Read-only file system" "$RUN_ERR"
check "lockd stays loaded" -- module_loaded lockd
mount -o remount,rw "$storage"
check "storage back: kmod-reap lockd" -- kmod-reap lockd
check "the new value is saved, whole" -- settings_file_whole "$settings/lockd.conf"
check_match "nlm_timeout=16" '^nlm_timeout=16$' "$(cat "$settings/lockd.conf")"
umount "$storage"

# --- Requests and sweeps at once, while the disk fills and empties -----------------------------
tiny_fs "$state"
mkdir -m 0755 "$records"
(
    end=$(($(date +%s) + 8))
    while [ "$(date +%s)" -lt "$end" ]; do
        fill "$state"
        usleep 200000
        rm -f "$state/filler"
        usleep 200000
    done
) &
filler_pid=$!
(
    end=$(($(date +%s) + 8))
    while [ "$(date +%s)" -lt "$end" ]; do
        kmod-reap -q --delay 0 >/dev/null 2>&1
        usleep 100000
    done
) &
reaper_pid=$!
requests=0
end=$(($(date +%s) + 8))
while [ "$(date +%s)" -lt "$end" ]; do
    for fs in befs minix vfat; do
        mount -t "$fs" none /mnt/minix 2>/dev/null
    done
    kmod-request -q lockd hfs 2>/dev/null
    requests=$((requests + 4))
done
wait "$filler_pid" "$reaper_pid"
rm -f "$state/filler"
diag "requests and sweeps against a filling /run: $requests requests"
check_eq "every record left is whole" "" "$(record_complaints)"
kmod-reap -q --delay 0 >/dev/null 2>&1
check_eq "after one more sweep, no temporary file is left" "" "$(temporaries "$state")"
for record in "$records"/*; do
    [ -e "$record" ] || continue
    module=$(basename "$record")
    check "the record of $module names a loaded module" -- module_loaded "$module"
done
umount "$state"

# --- kernel.modules_disabled=1 while requests and sweeps run ---------------------------------------
# Whatever the last requests left loaded without a record goes first, so that these are recorded.
/sbin/rmmod befs hfs 2>/dev/null
check "kmod-request befs hfs" -- kmod-request befs hfs
check "both recorded" -- test -f "$records/befs" -a -f "$records/hfs"
kmod-sysctl -q unload_delay=1h
(
    end=$(($(date +%s) + 4))
    while [ "$(date +%s)" -lt "$end" ]; do
        kmod-reap -q >/dev/null 2>&1
        usleep 100000
    done
) &
reaper_pid=$!
usleep 500000
echo 1 >/proc/sys/kernel/modules_disabled
wait "$reaper_pid"
check_eq "modules_disabled is set" 1 "$(cat /proc/sys/kernel/modules_disabled)"
run_cmd kmod-request dummy
check_eq "a request now: exit 1" 1 "$RUN_STATUS"
check_match "says why" "could not insert 'dummy': module loading is disabled \\(kernel.modules_disabled=1\\)" "$RUN_ERR"
check_fail "dummy is not loaded" -- module_loaded dummy
check_fail "no record of dummy" -- test -e "$records/dummy"
check_fail "qnx4 is not loaded" -- module_loaded qnx4
check_fail "a kernel request (mount -t qnx4) is refused" -- mount -t qnx4 none /mnt/minix
check_fail "qnx4 is still not loaded" -- module_loaded qnx4
dmesg | tail -n 4 | while IFS= read -r line; do diag "$line"; done
check_match "and kmod-request says why in the kernel log" \
    "kmod-request: .*'fs-qnx4'.*module loading is disabled" "$(dmesg | tail -n 4)"
run_cmd kmod-reap -v --delay 0
check_eq "a sweep now: exit 0, nothing it may do" 0 "$RUN_STATUS"
check_match "says why" "module unloading is disabled \\(kernel.modules_disabled=1\\); nothing to do" "$RUN_ERR"
check "befs stays" -- module_loaded befs
check "its record stays: nothing was unloaded" -- test -f "$records/befs"
check_eq "every record parses" "" "$(record_complaints)"
check_eq "no temporary file anywhere" "" "$(temporaries "$state" "$storage")"
check_match "kmod-sysctl shows it" '^modules_disabled = 1$' "$(kmod-sysctl)"

tap_done
