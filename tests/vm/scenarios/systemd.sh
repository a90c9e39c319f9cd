#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# kmod-reap.service and kmod-reap.timer as the package ships them, run by systemd as PID 1 on the
# real kernel (run-vm --systemd): the unit passes systemd-analyze, its exposure stays at most 2.1,
# and a sweep under the whole sandbox does everything a sweep does: it unloads what is idle (a
# module the kernel asked for through kmod-request among them), saves changed parameters first
# under ProtectSystem=strict, keeps what is mounted or owns an interface, logs to the journal.
# Two drop-ins show the scenario would notice a sandbox that breaks a sweep: ProtectKernelModules=
# fails it with nothing unloaded, read-only settings storage (ReadOnlyPaths=) keeps the module
# whose settings cannot be saved. The helper guard under the sandbox: kernel.modprobe changed
# behind kmod-tools' back is a critical journal line, once; restore cannot write /proc/sys there
# and says so, until the drop-in kmod-reap(8) names makes the knob writable.
# kmod-tools-trace.service, enabled before boot with kmod-request persisted as the helper
# (systemd.preboot), set up the trace instance at boot, after systemd-sysctl applied sysctl.d; it
# passes systemd-analyze (exposure at most 1.0), does nothing for another helper, and only warns
# when tracefs cannot be written.
# run-vm gets the unit sources, the tmpfiles.d file and systemd.preboot with --file.
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh

unit_dir=/lib/systemd/system
dropin_dir=/etc/systemd/system/kmod-reap.service.d
settings=/var/lib/kmod-tools/settings
records=/run/kmod-tools/on-demand
for file in kmod-reap.service kmod-reap.timer kmod-tools.tmpfiles kmod-tools-trace.service; do
    require_file "/scenario-files/$file"
done

unit_result() { systemctl show -p Result --value kmod-reap.service; }
unit_status() { systemctl show -p ExecMainStatus --value kmod-reap.service; }
# The journal lines of the sweeps run since the last call of mark_journal.
# --since has whole seconds: sleeping first puts every earlier line before the mark.
mark_journal() { sleep 1; journal_mark=$(date '+%Y-%m-%d %H:%M:%S'); }
sweep_journal() { journalctl -q --no-pager -o cat -u kmod-reap.service --since "$journal_mark" "$@"; }
# start_sweep: systemctl start kmod-reap.service, as the timer would, into RUN_*.
start_sweep() {
    systemctl reset-failed kmod-reap.service 2>/dev/null
    mark_journal
    run_cmd systemctl start kmod-reap.service
}

# --- The system the unit meets ------------------------------------------------------------------
check_eq "PID 1 is systemd" systemd "$(cat /proc/1/comm)"
check "the journal runs" -- systemctl -q is-active systemd-journald.service
check "cgroup2 is mounted (IPAddressDeny= needs its BPF hooks)" -- test -e /sys/fs/cgroup/cgroup.controllers
check_eq "no unit failed at boot" "" "$(systemctl list-units --failed --plain --no-legend)"

# --- Requester attribution at boot (kmod-tools-trace.service, enabled by systemd.preboot) ----------
trace_unit=kmod-tools-trace.service
instance=/sys/kernel/tracing/instances/kmod-tools
trace_journal() { journalctl -q --no-pager -o cat -u "$trace_unit" "$@"; }
monotonic() { systemctl show -p "$2" --value "$1"; }
check_eq "systemd-sysctl applied the persisted helper at boot" /usr/sbin/kmod-request "$(cat /proc/sys/kernel/modprobe)"
check_eq "$trace_unit ran at boot and stays active" "active exited" \
    "$(systemctl show -p ActiveState --value "$trace_unit") $(systemctl show -p SubState --value "$trace_unit")"
check_eq "successfully" success "$(systemctl show -p Result --value "$trace_unit")"
check "after systemd-sysctl.service had applied sysctl.d" -- test \
    "$(monotonic "$trace_unit" ExecMainStartTimestampMonotonic)" -ge \
    "$(monotonic systemd-sysctl.service ExecMainExitTimestampMonotonic)"
check "before sysinit.target" -- test \
    "$(monotonic "$trace_unit" ActiveEnterTimestampMonotonic)" -le "$(monotonic sysinit.target ActiveEnterTimestampMonotonic)"
check "the trace instance is there" -- test -d "$instance"
check_eq "and ready" ready "$(kmod-sysctl -n --trace=status 2>&1)"
check_eq "recording module:module_request" module:module_request "$(cat "$instance/set_event")"
check_eq "the unit's journal says so" "trace = ready" "$(trace_journal)"
diag "journal of $trace_unit at boot:"
trace_journal | while IFS= read -r line; do diag "    $line"; done

# --- Installed as the package installs it: Debian's /usr/sbin for @SBINDIR@ -----------------------
sed 's|@SBINDIR@|/usr/sbin|g' /scenario-files/kmod-reap.service >"$unit_dir/kmod-reap.service"
cp /scenario-files/kmod-reap.timer "$unit_dir/kmod-reap.timer"
mkdir -p /usr/lib/tmpfiles.d
cp /scenario-files/kmod-tools.tmpfiles /usr/lib/tmpfiles.d/kmod-tools.conf
check "systemctl daemon-reload" -- systemctl daemon-reload
# No man(1) in the guest: the Documentation= pages are checked by the install test.
run_cmd systemd-analyze verify --man=no kmod-reap.service kmod-reap.timer "$trace_unit"
check_eq "systemd-analyze verify: exit 0" 0 "$RUN_STATUS"
check_eq "and no complaint" "" "$RUN_OUT$RUN_ERR"
for unit in kmod-reap.service:2.1 "$trace_unit:1.0"; do
    limit=${unit#*:} unit=${unit%:*}
    run_cmd systemd-analyze security --no-pager "$unit"
    exposure=$(printf '%s\n' "$RUN_OUT" | sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\).*$/\1/p')
    diag "systemd-analyze security $unit: ${exposure:-no score}"
    check "$unit's exposure is at most $limit" -- awk -v e="$exposure" -v l="$limit" \
        'BEGIN { exit !(e != "" && e + 0 <= l + 0) }'
done
check "systemd-tmpfiles --create kmod-tools.conf" -- systemd-tmpfiles --create kmod-tools.conf
check_eq "tmpfiles: /run/kmod-tools" "755 0 0" "$(stat -c '%a %u %g' /run/kmod-tools)"
check_eq "tmpfiles: /run/kmod-tools/on-demand" "755 0 0" "$(stat -c '%a %u %g' "$records")"
check_eq "tmpfiles: /var/lib/kmod-tools" "755 0 0" "$(stat -c '%a %u %g' /var/lib/kmod-tools)"
check_eq "tmpfiles: /var/lib/kmod-tools/settings is root-only" "700 0 0" "$(stat -c '%a %u %g' "$settings")"

# --- Modules loaded on demand, of each kind a sweep meets ------------------------------------------
check "kmod-sysctl unload_delay=0" -- kmod-sysctl -q unload_delay=0
check "kmod-request befs lockd dummy brd vfat" -- kmod-request befs lockd dummy brd vfat
# lockd rejects a trailing newline: printf, not echo.
check "a changed lockd parameter" -- sh -c 'printf 15 >/sys/module/lockd/parameters/nlm_timeout'
check "dummy made an interface" -- test -e /sys/class/net/dummy0
check "mkdosfs /dev/ram0" -- mkdosfs /dev/ram0
mkdir -p /mnt/vfat /mnt/minix
check "mount -t vfat /dev/ram0" -- mount -t vfat /dev/ram0 /mnt/vfat
echo kept >/mnt/vfat/file
# And one the kernel asks for itself, through kmod-request as its helper.
check "kmod-sysctl modprobe=/usr/sbin/kmod-request" -- kmod-sysctl -q modprobe=/usr/sbin/kmod-request
check_fail "mount -t minix without a device fails" -- mount -t minix none /mnt/minix
check "the kernel loaded minix through kmod-request" -- module_loaded minix
check "and kmod-request recorded it" -- test -f "$records/minix"

# --- A sandbox that breaks a sweep is noticed -----------------------------------------------------
# ProtectKernelModules=yes takes CAP_SYS_MODULE away: every unload is refused, the unit fails.
mkdir -p "$dropin_dir"
printf '[Service]\nProtectKernelModules=yes\n' >"$dropin_dir/50-break.conf"
systemctl daemon-reload
start_sweep
check_eq "with ProtectKernelModules=yes the sweep fails" 1 "$RUN_STATUS"
check_eq "the unit's result says so" exit-code "$(unit_result)"
check "and nothing was unloaded: befs" -- module_loaded befs
check "nor minix" -- module_loaded minix
check "nor lockd" -- module_loaded lockd
diag "journal of the broken sweep:"
sweep_journal | while IFS= read -r line; do diag "    $line"; done
check_match "the journal says why" "befs.*(Operation not permitted|not permitted)" "$(sweep_journal)"
rm -r "$dropin_dir"
systemctl daemon-reload

# --- The sweep as shipped ------------------------------------------------------------------------
start_sweep
check_eq "systemctl start kmod-reap.service: exit 0" 0 "$RUN_STATUS"
check_eq "the unit's result: success" success "$(unit_result)"
check_eq "kmod-reap's exit status: 0" 0 "$(unit_status)"
journal=$(sweep_journal)
diag "journal of the sweep:"
printf '%s\n' "$journal" | while IFS= read -r line; do diag "    $line"; done
for module in befs minix lockd; do
    check_fail "$module was unloaded" -- module_loaded "$module"
    check_fail "its record is gone" -- test -e "$records/$module"
    check_match "the journal says $module was unloaded" "unloaded $module " "$journal"
done
check_match "lockd's changed parameter was saved first, under ProtectSystem=strict" \
    '^nlm_timeout=15$' "$(cat "$settings/lockd.conf" 2>/dev/null)"
check_eq "root-only" "600 0" "$(stat -c '%a %u' "$settings/lockd.conf" 2>/dev/null)"
check "the idle clocks were written to /run/kmod-tools" -- test -f /run/kmod-tools/idle.json
check "dummy, which owns dummy0, stays (interfaces seen through AF_UNIX alone)" -- module_loaded dummy
check "vfat, mounted, stays" -- module_loaded vfat
check "brd, holding the mounted ram disk, stays" -- module_loaded brd
check_eq "the mounted file system still works" kept "$(cat /mnt/vfat/file)"
check "/run/kmod-tools outlives the sweep (RuntimeDirectoryPreserve=yes)" -- test -d "$records"
check "vfat's record is kept for a later sweep" -- test -f "$records/vfat"
check_match "the unload lines are at info priority or above" "unloaded befs " \
    "$(sweep_journal -p info)"
check_no_match "and none is a warning" "unloaded" "$(sweep_journal -p warning)"

# lockd comes back with its saved value, through the kernel's helper too.
check "kmod-request lockd" -- kmod-request lockd
check_eq "nlm_timeout came back as 15" 15 "$(cat /sys/module/lockd/parameters/nlm_timeout)"

# Settings storage made read-only: lockd's newly changed parameter cannot be saved, so it stays.
check "a changed lockd parameter again" -- sh -c 'printf 17 >/sys/module/lockd/parameters/nlm_timeout'
mkdir -p "$dropin_dir"
printf '[Service]\nReadOnlyPaths=/var/lib/kmod-tools\n' >"$dropin_dir/50-break.conf"
systemctl daemon-reload
start_sweep
check_eq "with read-only settings storage the sweep fails" 1 "$RUN_STATUS"
check "lockd, whose settings cannot be saved, stays" -- module_loaded lockd
check_match "the journal says why" "not unloading lockd: cannot save its settings" "$(sweep_journal)"
check_match "the saved file is the old one, whole" '^nlm_timeout=15$' "$(cat "$settings/lockd.conf")"
rm -r "$dropin_dir"
systemctl daemon-reload

# Once unmounted, vfat, fat and brd go in the next sweep (the cascade under the same sandbox).
umount /mnt/vfat
start_sweep
check_eq "the next sweep: exit 0" 0 "$RUN_STATUS"
check_fail "lockd went, storage writable again" -- module_loaded lockd
check_match "with its new value saved" '^nlm_timeout=17$' "$(cat "$settings/lockd.conf")"
check_fail "vfat went once unmounted" -- module_loaded vfat
check_fail "and fat with it" -- module_loaded fat
check "dummy still stays" -- module_loaded dummy

# --- The helper guard, under the sandbox ---------------------------------------------------------
# kmod-sysctl made kmod-request the helper above; a kernel write primitive now changes it.
echo /tmp/evil >/proc/sys/kernel/modprobe
start_sweep
check_eq "a sweep with kernel.modprobe changed behind kmod-tools' back: exit 0" 0 "$RUN_STATUS"
check_match "the journal has the critical line, at critical priority" \
    "kmod-reap: audit: kernel.modprobe is '/tmp/evil', not '/usr/sbin/kmod-request' as set \\(kmod-sysctl\\); left as it is" \
    "$(sweep_journal -p crit)"
check_eq "kernel.modprobe is left as it is" /tmp/evil "$(cat /proc/sys/kernel/modprobe)"
start_sweep
check_no_match "the next sweep says nothing more of it" "kernel.modprobe" "$(sweep_journal)"
mkdir -p /etc/kmod-tools
echo 'helper_guard = restore' >/etc/kmod-tools/kmod-tools.conf
start_sweep
check_eq "helper_guard = restore under the shipped unit: the sweep still works" 0 "$RUN_STATUS"
check_eq "but /proc/sys is read-only there (ProtectKernelTunables=yes): left as it is" /tmp/evil \
    "$(cat /proc/sys/kernel/modprobe)"
check_match "and the critical line says why" \
    "could not put it back: cannot set kernel.modprobe .*read-only" "$(sweep_journal -p crit)"
# The drop-in kmod-reap(8) names for restore: the knob alone made writable.
mkdir -p "$dropin_dir"
printf '[Service]\nReadWritePaths=/proc/sys/kernel/modprobe\n' >"$dropin_dir/50-restore.conf"
systemctl daemon-reload
start_sweep
check_eq "with the knob writable, the sweep puts kmod-request back" /usr/sbin/kmod-request \
    "$(cat /proc/sys/kernel/modprobe)"
check_match "and says so at critical priority" \
    "put back '/usr/sbin/kmod-request' \\(kmod-sysctl\\), as helper_guard = restore says" "$(sweep_journal -p crit)"
rm -r "$dropin_dir" /etc/kmod-tools
systemctl daemon-reload

# --- kmod-tools-trace.service, run again ----------------------------------------------------------
# restart: as at the next boot. With another helper it leaves tracing alone.
restart_trace_unit() {
    mark_journal
    run_cmd systemctl restart "$trace_unit"
}
check "kmod-sysctl --trace=remove" -- kmod-sysctl -q --trace=remove
echo /sbin/modprobe >/proc/sys/kernel/modprobe
restart_trace_unit
check_eq "with /sbin/modprobe as the helper: the unit succeeds" "0 success" "$RUN_STATUS $(systemctl show -p Result --value "$trace_unit")"
check_fail "and sets nothing up" -- test -e "$instance"
check_match "its journal says the instance is absent" "^trace = absent " "$(trace_journal --since "$journal_mark")"
echo /usr/sbin/kmod-request >/proc/sys/kernel/modprobe
restart_trace_unit
check_eq "with kmod-request again: ready, under the unit's sandbox" ready "$(kmod-sysctl -n --trace=status 2>&1)"
# Without ReadWritePaths= (an empty one resets it), tracefs' instances are as read-only as the rest
# of /sys:
# attribution cannot be set up, the unit still succeeds, with a warning.
mkdir -p "/etc/systemd/system/$trace_unit.d"
printf '[Service]\nReadWritePaths=\n' >"/etc/systemd/system/$trace_unit.d/50-break.conf"
systemctl daemon-reload
check "kmod-sysctl --trace=remove" -- kmod-sysctl -q --trace=remove
restart_trace_unit
check_eq "with tracefs read-only (ProtectKernelTunables=): the unit still succeeds" "0 success" "$RUN_STATUS $(systemctl show -p Result --value "$trace_unit")"
check_fail "nothing is set up" -- test -e "$instance"
check_match "and the journal says why, at warning priority" \
    "requester attribution not set up: cannot create $instance: Read-only file system" \
    "$(trace_journal -p warning --since "$journal_mark")"
rm -r "/etc/systemd/system/$trace_unit.d"
systemctl daemon-reload
restart_trace_unit
check_eq "without the drop-in: ready again" ready "$(kmod-sysctl -n --trace=status 2>&1)"

# --- The timer -------------------------------------------------------------------------------
check "systemctl enable --now kmod-reap.timer" -- systemctl -q enable --now kmod-reap.timer
check_eq "the timer is enabled" enabled "$(systemctl is-enabled kmod-reap.timer)"
check_eq "and active" active "$(systemctl is-active kmod-reap.timer)"
check "through timers.target" -- test -L /etc/systemd/system/timers.target.wants/kmod-reap.timer
check_match "it triggers kmod-reap.service" '^kmod-reap\.service$' "$(systemctl show -p Triggers --value kmod-reap.timer)"
check_match "and has its next elapse set" '^[1-9][0-9]*$' \
    "$(systemctl show -p NextElapseUSecMonotonic --value kmod-reap.timer | sed 's/[^0-9]//g')"
check_eq "no unit failed" "" "$(systemctl list-units --failed --plain --no-legend)"

tap_done
