#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Crash safety of saved settings, one boot of many (tests/vm/crash-settings boots it again and
# again, killing QEMU at a random moment): /var/lib/kmod-tools is an ext4 file system on the
# virtio disk /dev/vda, which outlives each kill. Each boot first judges what the last one left:
# lockd's settings file must be whole and hold either the values of the iteration that was saving
# when the VM died or those of the one before, never something partial or empty; then it goes on
# saving and unloading lockd with changing parameters, until it is killed ("loop") or for a few
# iterations that end the run ("final"). Mounted with noauto_da_alloc, so that ext4's own
# replace-by-rename heuristic cannot hide a missing fsync.
#
# /scenario-files/crash-mode says "loop" or "final". Each iteration i:
#   progress "i saving" (durable) -> nlm_timeout, nlm_udpport := values of i -> kmod-reap lockd
#   (saves, then unloads) -> progress "i saved" (durable) -> kmod-request lockd (restores).
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh

require_file /scenario-files/crash-mode
mode=$(cat /scenario-files/crash-mode)
storage=/var/lib/kmod-tools
settings=$storage/settings
file=$settings/lockd.conf
progress=$storage/crash-progress
params=/sys/module/lockd/parameters

timeout_of() { echo $((3 + $1 % 18)); }
port_of() { echo $(($1 * 7919 % 65536)); }
value_in() { sed -n "s/^$2=//p" "$1"; }
# durably PROGRESS-LINE: replaces the progress file and waits until it is on the disk.
durably() {
    printf '%s\n' "$1" >"$progress.new" && sync && mv "$progress.new" "$progress" && sync
}

for module in virtio_pci virtio_blk ext4; do
    /sbin/modprobe "$module" || bail_out "cannot load $module"
done
tries=0
while [ ! -b /dev/vda ] && [ "$tries" -lt 50 ]; do
    usleep 100000
    tries=$((tries + 1))
done
mkdir -p "$storage"
mount -t ext4 -o noauto_da_alloc /dev/vda "$storage" || bail_out "cannot mount /dev/vda on $storage"

# --- What the last boot left ---------------------------------------------------------------------
last=0
stage=saved
if [ -f "$progress" ]; then
    read -r last stage <"$progress"
fi
diag "last boot reached iteration $last ($stage)"
leftovers=$(find "$settings" -name '.*.tmp-*' 2>/dev/null | wc -l)
diag "temporary files left by the kill: $leftovers"
if [ "$last" -eq 0 ] || { [ "$last" -eq 1 ] && [ "$stage" = saving ]; }; then
    # Nothing was ever saved, or the first save may not have landed.
    if [ -e "$file" ]; then
        check_eq "the settings file of the first save holds its values" \
            "$(timeout_of 1) $(port_of 1)" "$(value_in "$file" nlm_timeout) $(value_in "$file" nlm_udpport)"
        diag "settings file: new version"
    else
        check "no settings file yet: no save had landed" -- true
        diag "settings file: absent"
    fi
else
    check "the settings file exists" -- test -f "$file"
    check_eq "it starts with its header" '# kmod-tools saved settings 1' "$(head -n 1 "$file")"
    check_eq "it ends with its end marker" '# end' "$(tail -n 1 "$file")"
    found="$(value_in "$file" nlm_timeout) $(value_in "$file" nlm_udpport)"
    new="$(timeout_of "$last") $(port_of "$last")"
    old="$(timeout_of $((last - 1))) $(port_of $((last - 1)))"
    if [ "$found" = "$new" ]; then
        check "it holds the values of iteration $last" -- true
        diag "settings file: new version"
    elif [ "$stage" = saving ] && [ "$found" = "$old" ]; then
        check "it holds the values of iteration $((last - 1)): the save of $last had not landed" -- true
        diag "settings file: old version"
    else
        check_eq "it holds the values of iteration $last or, while saving, $((last - 1))" "$new" "$found"
        diag "settings file: neither version"
        diag "$(cat "$file")"
    fi
fi

# --- Saving and unloading, again and again -------------------------------------------------------
check "kmod-request lockd" -- kmod-request lockd
if [ -f "$file" ]; then
    check_eq "lockd came back with the saved values" \
        "$(value_in "$file" nlm_timeout) $(value_in "$file" nlm_udpport)" \
        "$(cat "$params/nlm_timeout") $(cat "$params/nlm_udpport")"
fi
i=$((last + 1))
end=$(($(date +%s) + 60))
[ "$mode" = final ] && end=$(($(date +%s) + 5))
while [ "$(date +%s)" -lt "$end" ]; do
    durably "$i saving" || bail_out "cannot write $progress"
    printf '%s' "$(timeout_of "$i")" >"$params/nlm_timeout"
    printf '%s' "$(port_of "$i")" >"$params/nlm_udpport"
    if ! kmod-reap -q lockd; then
        check "kmod-reap lockd in iteration $i" -- false
        break
    fi
    durably "$i saved" || bail_out "cannot write $progress"
    diag "iteration $i"
    if ! kmod-request lockd; then
        check "kmod-request lockd in iteration $i" -- false
        break
    fi
    i=$((i + 1))
done
check_eq "after the saves, no temporary file is left" 0 "$(find "$settings" -name '.*.tmp-*' | wc -l)"
check_eq "lockd has the values of the last iteration" "$(timeout_of $((i - 1))) $(port_of $((i - 1)))" \
    "$(cat "$params/nlm_timeout") $(cat "$params/nlm_udpport")"
umount "$storage"

tap_done
