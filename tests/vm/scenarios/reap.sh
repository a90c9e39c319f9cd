#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# kmod-reap on the real kernel: idle clocks against the unload delay (config and --delay), the
# cascade to freed dependencies, mounted file systems and open devices never unloaded, modules not
# loaded on demand left alone unless --all, named modules, the keep list, one sweep at a time,
# untrusted state rebuilt without unloading, dry run, --json, bad input and non-root callers.
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh

require_file /usr/sbin/kmod-reap

state=/run/kmod-tools
records=$state/on-demand
idle_json=$state/idle.json

# refcount MODULE: its reference count in /proc/modules (empty if not loaded).
refcount() {
    awk -v m="$1" '$1 == m { print $3 }' /proc/modules
}
in_use() {
    [ "$(refcount "$1")" -gt 0 ] 2>/dev/null
}
unused() {
    [ "$(refcount "$1")" = 0 ]
}
# wait_until CMD...: polls CMD for up to 5 s.
wait_until() {
    local tries=0
    while ! "$@"; do
        tries=$((tries + 1))
        [ "$tries" -ge 50 ] && return 1
        usleep 100000
    done
}
# idle_since MODULE: its clock in idle.json (empty if not listed).
idle_since() {
    sed -n "/\"$1\": {/,/}/s/.*\"idle_since\": \([0-9]*\).*/\1/p" "$idle_json" 2>/dev/null
}
# Unloads whatever is left on demand, so that each part starts from nothing on demand.
clean_slate() {
    kmod-reap -q --delay 0 >/dev/null 2>&1
    left=$(ls "$records" 2>/dev/null | tr '\n' ' ')
    [ -z "$left" ] || diag "still recorded after clean-up: $left"
}
# Keeps /run/tun-node open in the background (tun's refcount goes up) until close_tun.
tun_node=/run/tun-node
open_tun() {
    sleep 120 <"$tun_node" &
    tun_pid=$!
    wait_until in_use tun
}
close_tun() {
    kill "$tun_pid" 2>/dev/null
    wait "$tun_pid" 2>/dev/null
    wait_until unused tun
}

# --- The idle clock against the unload delay -----------------------------------------------------
check "kmod-sysctl sets unload_delay=3 for kmod-reap" -- kmod-sysctl unload_delay=3
check "kmod-request befs tun" -- kmod-request befs tun
mknod "$tun_node" c 10 200
run_cmd kmod-reap -v
check_eq "first sweep: exit 0" 0 "$RUN_STATUS"
check_match "first sweep starts befs's clock (config delay)" '^befs: idle 0 s of 3 s$' "$RUN_OUT"
check_match "and tun's" '^tun: idle 0 s of 3 s$' "$RUN_OUT"
check "befs is kept before the delay" -- module_loaded befs
check "tun is kept before the delay" -- module_loaded tun
befs_since=$(idle_since befs)
check_match "idle.json lists befs with a clock" '^[0-9]+$' "$befs_since"
check_match "idle.json lists tun" '"tun"' "$(cat "$idle_json")"
run_cmd kmod-reap -v --delay 1h
check_match "--delay overrides the configured delay" '^befs: idle [0-9]+ s of 3600 s$' "$RUN_OUT"
check_eq "a second sweep keeps the clock running (same idle_since)" "$befs_since" "$(idle_since befs)"
open_tun
check "tun in use: /run/tun-node held open" -- in_use tun
sleep 4
run_cmd kmod-reap -v
check_eq "sweep after the delay: exit 0" 0 "$RUN_STATUS"
check_match "befs unloaded once idle longer than the delay" '^kmod-reap: unloaded befs \(idle ([3-9]|[1-9][0-9]+) s\)$' "$RUN_ERR"
check_fail "befs is gone" -- module_loaded befs
check_fail "its record is gone" -- test -e "$records/befs"
check_no_match "idle.json no longer lists befs" '"befs"' "$(cat "$idle_json")"
check_match "tun with an open device is kept, in use" '^tun: in use \([0-9]+ references?\)$' "$RUN_OUT"
check "tun is still loaded" -- module_loaded tun
check_no_match "idle.json forgot tun's clock when it was seen in use" '"tun"' "$(cat "$idle_json")"
close_tun
run_cmd kmod-reap -v
check_match "tun idle again: a new clock, not the one from before its use" '^tun: idle 0 s of 3 s$' "$RUN_OUT"
check "so tun stays" -- module_loaded tun
open_tun
run_cmd kmod-reap -v --delay 0
check_match "--delay 0 keeps tun while its device is open" '^tun: in use' "$RUN_OUT"
check "tun with an open device is never unloaded" -- module_loaded tun
close_tun
run_cmd kmod-reap --delay 0
check_match "device closed: --delay 0 unloads tun" '^kmod-reap: unloaded tun ' "$RUN_ERR"
check_fail "tun is gone" -- module_loaded tun
rm -f "$state/runtime.conf"
clean_slate

# --- The cascade: xfs takes libcrc32c and crc32c_generic along -----------------------------------
check "kmod-request xfs" -- kmod-request xfs
check "crc32c_generic came with it (softdep of libcrc32c) and is recorded" -- test -f "$records/crc32c_generic"
run_cmd kmod-reap libcrc32c
check_eq "named module in use: exit 1" 1 "$RUN_STATUS"
check_match "named module in use: says why" "not unloading libcrc32c: in use by xfs" "$RUN_ERR"
check "named module in use: still loaded" -- module_loaded libcrc32c
run_cmd kmod-reap crc32c-generic
check_eq "named with '-' for '_', in use: exit 1" 1 "$RUN_STATUS"
check_match "and found under its kernel name" "not unloading crc32c_generic: in use" "$RUN_ERR"
before_state=$(cat "$idle_json")
run_cmd kmod-reap -n -v --delay 0
check_eq "--dry-run: exit 0" 0 "$RUN_STATUS"
check_match "--dry-run says what it would unload" '^kmod-reap: would unload xfs ' "$RUN_ERR"
check_match "-v says why libcrc32c stays" '^libcrc32c: in use by xfs$' "$RUN_OUT"
check "--dry-run unloads nothing" -- sh -c 'grep -q "^xfs " /proc/modules && grep -q "^libcrc32c " /proc/modules'
check_eq "--dry-run leaves idle.json alone" "$before_state" "$(cat "$idle_json")"
run_cmd kmod-reap --json --delay 0
check_eq "cascade sweep: exit 0" 0 "$RUN_STATUS"
check_fail "xfs, libcrc32c and crc32c_generic are all gone" -- \
    sh -c 'grep -Eq "^(xfs|libcrc32c|crc32c_generic) " /proc/modules'
json=$(printf '%s' "$RUN_OUT" | tr -d '\n' | sed 's/  */ /g')
check_match "--json: xfs unloaded" \
    '\{ "cascaded": false, "dry_run": false, "error": null, "name": "xfs", "reason": "idle 0 s", "status": "unloaded" \}' "$json"
check_match "--json: libcrc32c unloaded in the same sweep, cascaded" \
    '\{ "cascaded": true, "dry_run": false, "error": null, "name": "libcrc32c", "reason": "freed by this sweep", "status": "unloaded" \}' "$json"
check_match "--json: crc32c_generic too" \
    '\{ "cascaded": true, "dry_run": false, "error": null, "name": "crc32c_generic", "reason": "freed by this sweep", "status": "unloaded" \}' "$json"
check_no_match "their records are gone" '^(xfs|libcrc32c|crc32c_generic)$' "$(ls "$records")"
clean_slate

# --- A mounted file system: vfat on a ramdisk ----------------------------------------------------
check "kmod-request brd vfat" -- kmod-request brd vfat
check "mkdosfs on /dev/ram0" -- mkdosfs /dev/ram0
check "mount -t vfat /dev/ram0 /mnt" -- mount -t vfat /dev/ram0 /mnt
echo kept >/mnt/file
run_cmd kmod-reap -v --delay 0
check_eq "sweep with a mounted vfat: exit 0" 0 "$RUN_STATUS"
check_match "vfat is kept: in use" '^vfat: in use \(1 reference\)$' "$RUN_OUT"
check_match "fat is kept: in use by vfat" '^fat: in use by vfat$' "$RUN_OUT"
check_match "brd is kept while its ramdisk is mounted" '^brd: (in use|keep list)' "$RUN_OUT"
check "a mounted file system's modules are never unloaded" -- \
    sh -c 'grep -q "^vfat " /proc/modules && grep -q "^fat " /proc/modules && grep -q "^brd " /proc/modules'
check_eq "the file system still works" kept "$(cat /mnt/file)"
check "umount /mnt" -- umount /mnt
run_cmd kmod-reap -v --delay 0
check_match "unmounted: vfat unloaded" '^kmod-reap: unloaded vfat ' "$RUN_ERR"
check_match "and fat with it" '^kmod-reap: unloaded fat \(freed by this sweep\)$' "$RUN_ERR"
check_fail "vfat and fat are gone" -- sh -c 'grep -Eq "^(vfat|fat) " /proc/modules'
# brd shows refcount 0 once nothing has a ramdisk open, whatever the ramdisks hold: the built-in
# keep list protects it, or the data on the unmounted ramdisk would be lost.
check "brd stays with its unmounted ramdisk" -- module_loaded brd
check_match "kept by the built-in keep list" '^brd: keep list \(brd\)$' "$RUN_OUT"
clean_slate

# --- Modules not loaded on demand ----------------------------------------------------------------
check "/sbin/modprobe nlmon" -- /sbin/modprobe nlmon
run_cmd kmod-reap -v --delay 0
check_match "a module loaded by modprobe is not a candidate" '^nlmon: not loaded on demand$' "$RUN_OUT"
check "so it stays" -- module_loaded nlmon
run_cmd kmod-reap --all --delay 0
check_eq "--all: exit 0" 0 "$RUN_STATUS"
check_match "--all --delay 0 unloads it" '^kmod-reap: unloaded nlmon ' "$RUN_ERR"
check_fail "nlmon is gone" -- module_loaded nlmon
clean_slate

# --- Named modules -------------------------------------------------------------------------------
/sbin/modprobe dummy
kmod-request efs
kmod-reap --delay 1h >/dev/null 2>&1
run_cmd kmod-reap --delay 0 dummy
check_eq "kmod-reap dummy: exit 0" 0 "$RUN_STATUS"
check_match "a named module goes now, though not loaded on demand" '^kmod-reap: unloaded dummy \(named\)$' "$RUN_ERR"
check_fail "dummy is gone" -- module_loaded dummy
check "an idle on-demand module not named stays, even with --delay 0" -- module_loaded efs
run_cmd kmod-reap dummy
check_eq "named module not loaded: exit 1" 1 "$RUN_STATUS"
check_match "named module not loaded: says so" "module 'dummy' is not loaded" "$RUN_ERR"
run_cmd kmod-reap --json dummy
check_match "named module not loaded: --json says so too" '"status": "not-loaded"' "$RUN_OUT"
run_cmd kmod-reap kt_no_such_module
check_eq "named module that does not exist: exit 1" 1 "$RUN_STATUS"
run_cmd kmod-reap -n efs
check_match "a named dry run says what it would unload" '^kmod-reap: would unload efs \(named\)$' "$RUN_ERR"
check "and unloads nothing" -- module_loaded efs
mkdir -p /etc/kmod-tools
printf 'keep = efs\n' >/etc/kmod-tools/kmod-tools.conf
run_cmd kmod-reap efs
check_eq "a named module goes at once (delay 120 s) even when keep-listed: exit 0" 0 "$RUN_STATUS"
check_fail "efs is gone" -- module_loaded efs
rm /etc/kmod-tools/kmod-tools.conf
clean_slate

# --- The keep list -------------------------------------------------------------------------------
printf 'keep = hfs* romfs\n' >/etc/kmod-tools/kmod-tools.conf
check "kmod-request hfs romfs befs efs" -- kmod-request hfs romfs befs efs
run_cmd kmod-reap -v --delay 0 --keep 'be?s'
check_eq "sweep with keep lists: exit 0" 0 "$RUN_STATUS"
check_match "config keep pattern keeps hfs" '^hfs: keep list \(hfs\*\)$' "$RUN_OUT"
check_match "config keep name keeps romfs" '^romfs: keep list \(romfs\)$' "$RUN_OUT"
check_match "--keep keeps befs" '^befs: keep list \(be\?s\)$' "$RUN_OUT"
check "keep-listed modules stay loaded" -- \
    sh -c 'grep -q "^hfs " /proc/modules && grep -q "^romfs " /proc/modules && grep -q "^befs " /proc/modules'
check_fail "the one not keep-listed (efs) went" -- module_loaded efs
rm /etc/kmod-tools/kmod-tools.conf
run_cmd kmod-reap --delay 0
check_fail "without the keep list they go" -- sh -c 'grep -Eq "^(hfs|romfs|befs) " /proc/modules'
clean_slate

# --- One sweep at a time -------------------------------------------------------------------------
# Sweep A holds the lock while blocked writing its messages to a full pipe (busybox has no flock).
mkfifo /run/reap-pipe
exec 5<>/run/reap-pipe
cat /dev/zero >&5 &
filler=$!
usleep 500000
kill "$filler"
wait "$filler" 2>/dev/null
/sbin/modprobe dummy
kmod-reap --delay 0 dummy 2>&5 5>&- &
sweep_a=$!
wait_until sh -c '! grep -q "^dummy " /proc/modules'
check "sweep A unloaded dummy" -- sh -c '! grep -q "^dummy " /proc/modules'
check "sweep A still holds the lock (blocked on its output)" -- kill -0 "$sweep_a"
kmod-request nlmon
run_cmd timeout 10 kmod-reap --delay 0 5>&-
check_eq "a second sweep: exit 0 at once" 0 "$RUN_STATUS"
check_match "and says a sweep is already running" "a sweep is already running" "$RUN_ERR"
check "and unloads nothing" -- module_loaded nlmon
kmod-reap --wait --delay 0 >/run/reap-wait.out 2>&1 5>&- &
sweep_b=$!
usleep 500000
check "--wait waits while the lock is held" -- kill -0 "$sweep_b"
check "and has not acted yet" -- module_loaded nlmon
cat <&5 >/dev/null 5>&- &
drainer=$!
wait "$sweep_a"
check_eq "sweep A finished once its output was read" 0 "$?"
status=0
wait "$sweep_b" || status=$?
check_eq "--wait: exit 0 after the other sweep" 0 "$status"
check_match "--wait then acted" '^kmod-reap: unloaded nlmon ' "$(cat /run/reap-wait.out)"
check_fail "nlmon is gone" -- module_loaded nlmon
kill "$drainer"
wait "$drainer" 2>/dev/null
exec 5>&-
clean_slate

# --- Untrusted state -----------------------------------------------------------------------------
kmod-request efs
kmod-reap --delay 1h >/dev/null 2>&1
echo garbage >"$idle_json"
run_cmd kmod-reap --delay 0
check_eq "garbage in idle.json: exit 0" 0 "$RUN_STATUS"
check_match "it warns" "warning: corrupt state $idle_json: .*nothing is unloaded this sweep" "$RUN_ERR"
check "it unloads nothing, even with --delay 0" -- module_loaded efs
check_match "idle.json is rebuilt" '"format": 1' "$(cat "$idle_json")"
run_cmd kmod-reap --delay 0
check_no_match "the next sweep trusts it again" 'warning' "$RUN_ERR"
check_fail "and unloads efs" -- module_loaded efs

kmod-request efs
printf '{"format": 1, "modules": {"efs": {"idle_since": "x", "instance": "y"}}}\n' >"$idle_json"
run_cmd kmod-reap --delay 0
check_match "mistyped field in idle.json: warns" "warning: corrupt state $idle_json: bad entry for 'efs'" "$RUN_ERR"
check "and unloads nothing" -- module_loaded efs
rm "$idle_json"
ln -s /etc/passwd "$idle_json"
passwd_before=$(cat /etc/passwd)
run_cmd kmod-reap --delay 0
check_eq "idle.json a symlink: exit 0" 0 "$RUN_STATUS"
check_match "it refuses the symlink" "refusing $idle_json: it is a symlink" "$RUN_ERR"
check "and unloads nothing" -- module_loaded efs
check_eq "the symlink's target is untouched" "$passwd_before" "$(cat /etc/passwd)"
check "idle.json is a regular file again" -- sh -c "test -f $idle_json && ! test -L $idle_json"
run_cmd kmod-reap --delay 0
check_fail "the next sweep unloads efs" -- module_loaded efs

kmod-request efs befs
echo garbage >"$records/befs"
run_cmd kmod-reap -v --delay 0
check_eq "garbage in a record: exit 0" 0 "$RUN_STATUS"
check_match "it warns" "warning: corrupt record $records/befs: .*nothing is unloaded this sweep" "$RUN_ERR"
check "it unloads nothing, even with --delay 0" -- \
    sh -c 'grep -q "^efs " /proc/modules && grep -q "^befs " /proc/modules'
check_fail "the corrupt record is removed" -- test -e "$records/befs"
run_cmd kmod-reap -v --delay 0
check_no_match "the next sweep trusts the state again" 'warning' "$RUN_ERR"
check_match "and unloads efs" '^kmod-reap: unloaded efs ' "$RUN_ERR"
check_match "befs, whose record could not be trusted, is no longer on demand" \
    '^befs: not loaded on demand$' "$RUN_OUT"
kmod-reap befs >/dev/null 2>&1
check_fail "named, befs goes" -- module_loaded befs
clean_slate

# --- Bad input and non-root callers --------------------------------------------------------------
kmod-request romfs
run_cmd kmod-reap --delay abc
check_eq "--delay abc: exit 2" 2 "$RUN_STATUS"
check_match "--delay abc: says so" "bad --delay 'abc'" "$RUN_ERR"
check_exit "--delay -1: exit 2" 2 -- kmod-reap --delay -1
run_cmd kmod-reap --keep 'a/b'
check_eq "--keep 'a/b': exit 2" 2 "$RUN_STATUS"
check_match "--keep 'a/b': says so" "bad --keep pattern 'a/b'" "$RUN_ERR"
run_cmd kmod-reap ../romfs
check_eq "name with '/': exit 2" 2 "$RUN_STATUS"
check_match "name with '/': says so" "bad module name '../romfs'" "$RUN_ERR"
check_exit "empty name: exit 2" 2 -- kmod-reap ''
check_exit "an alias is not a module name: exit 2" 2 -- kmod-reap 'fs:romfs'
check_exit "--all with names: exit 2" 2 -- kmod-reap --all romfs
check "bad input unloads nothing" -- module_loaded romfs
run_cmd as_nobody kmod-reap --delay 0
check_eq "not root: exit 1" 1 "$RUN_STATUS"
check_match "not root: a clear message" "^kmod-reap: .*(Permission denied|CAP_SYS_MODULE)" "$RUN_ERR"
check "not root: nothing unloaded" -- module_loaded romfs
check "not root: the record stays" -- test -f "$records/romfs"
run_cmd as_nobody kmod-reap romfs
check_eq "not root, named: exit 1" 1 "$RUN_STATUS"
check "not root, named: still loaded" -- module_loaded romfs
run_cmd kmod-reap romfs
check_eq "root, named: exit 0" 0 "$RUN_STATUS"
check_fail "romfs is gone" -- module_loaded romfs

# A module whose network interfaces exist is not idle, whatever its refcount: unloading it would
# delete them with their configuration.
check "kmod-request dummy (it creates dummy0)" -- kmod-request dummy
check "dummy0 exists" -- test -d /sys/class/net/dummy0
run_cmd kmod-reap -v --delay 0
check_match "dummy with dummy0 is kept" '^dummy: has network interfaces dummy0$' "$RUN_OUT"
check "dummy stays" -- module_loaded dummy
check "ip link delete dummy0" -- ip link delete dummy0
run_cmd kmod-reap -v --delay 0
check_fail "without interfaces dummy goes" -- module_loaded dummy

# The kernel often loads a module again at the same address; the record must still tell the loads apart.
check "kmod-request hfs" -- kmod-request hfs
/sbin/rmmod hfs
/sbin/modprobe hfs
run_cmd kmod-reap -v --delay 0
check_match "hfs reloaded by modprobe is not on demand" '^hfs: not loaded on demand$' "$RUN_OUT"
check "and stays loaded" -- module_loaded hfs
check_fail "its stale record was dropped" -- test -e /run/kmod-tools/on-demand/hfs

tap_done
