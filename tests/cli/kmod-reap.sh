#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# kmod-reap against a fake root with the test shim as its kernel: which modules a sweep unloads and
# why the others stay, the cascade and its guards, settings saved before unloading, dry runs that
# change nothing, kernel refusals, output and exit statuses. Modules are loaded with kmod-request,
# so records and load-time parameters are the real ones. The VM suite proves it on a real kernel.
# Usage: kmod-reap.sh PATH-TO-kmod-reap PATH-TO-shim.so vm-lib.sh fake-kernel.sh PATH-TO-kmod-request
# shellcheck shell=dash disable=SC1090,SC2016
set -u
. "$3"
. "$4"
request_tool=$5

# ---- JSON shapes: the one place that knows the keys and values of kmod-reap's JSON --------------
entry_keys='["cascaded", "dry_run", "error", "name", "reason", "status"]'
would_unload=would-unload
not_saved=not-saved
not_loaded=not-loaded
# One line per entry, in order: NAME STATUS (REASON), then " cascaded" when it was, " dry-run" in a
# dry run, and " error=TEXT" when the entry carries an error.
outcomes='"\n".join("%s %s (%s)%s%s%s" % (e["name"], e["status"], e["reason"], " cascaded" if e["cascaded"] else "",
    " dry-run" if e["dry_run"] else "", " error=" + e["error"] if e["error"] is not None else "") for e in d)'
# ---- end of JSON shapes ------------------------------------------------------------------------

fixture_start

request() {
    LD_PRELOAD=$shim KMOD_TOOLS_ROOT=$root KMOD_TOOLS_SHIM_LOG=$shim_log \
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 "$request_tool" "$@" ||
        bail_out "kmod-request $* failed in the set-up"
}
# Modules loaded with kmod-request, then the log cleared: the checks look at what the sweep did.
load() {
    request "$@"
    shim_reset
}
removes() { awk '$1 == "remove" { print $2, $3 }' "$shim_log"; }
idle_json=run/kmod-tools/idle.json
settings_dir=var/lib/kmod-tools/settings
# Moves the idle clock of MODULE back by SECONDS, as if the sweep that started it ran that long ago.
age_clock() {
    python3 -I -S -c '
import json, sys
path, module, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path) as f:
    state = json.load(f)
state["modules"][module]["idle_since"] -= seconds
with open(path, "w") as f:
    json.dump(state, f)' "$root/$idle_json" "$1" "$2"
}
# The modules with an idle clock; [] when no sweep has written any.
drop_clock() {
    python3 -I -S -c '
import json, sys
with open(sys.argv[1]) as f:
    state = json.load(f)
del state["modules"][sys.argv[2]]
with open(sys.argv[1], "w") as f:
    json.dump(state, f)' "$root/$idle_json" "$1"
}
clocks() {
    if [ -e "$root/$idle_json" ]; then json_file "$root/$idle_json" 'sorted(d["modules"])'; else echo '[]'; fi
}
# Idle times of a few seconds depend on how fast the machine runs the checks.
few_seconds() { sed -E 's/idle [0-9] s/idle N s/g'; }
parameter_set() { printf '%s' "$3" >"$root/sys/module/$1/parameters/$2"; }
# A clock moved 300 s back shows 300 s, or a little more if the machine is slow.
about_300() { sed -E 's/\(idle 30[0-9] s\)/(idle 300+ s)/'; }

# ---- a sweep's decisions, step by step ---------------------------------------------------------
fresh_root
printf 'keep = ktsoft\n' >"$root/etc/kmod-tools/kmod-tools.conf"
load ktfs
load kta
load ktparm
load ktsoft
set_refcount ktparm 2
rm "$root/run/kmod-tools/on-demand/ktpre" # as if loaded by hand: not on demand
run_cmd tool -v
check_eq "first sweep: exit 0" 0 "$RUN_STATUS"
check_eq "first sweep: every module that stays, with its reason, in /proc/modules order" "ktsoft: keep list (ktsoft)
ktpre: not loaded on demand
ktparm: in use (2 references)
kta: idle 0 s of 120 s
ktb: in use by kta
ktc: in use by ktb, kta
ktfs: idle 0 s of 120 s
nothing to unload" "$RUN_OUT"
check_eq "first sweep: nothing reached the kernel" "" "$(shim_calls)"
check_eq "first sweep: the idle modules' clocks start" '["kta", "ktfs"]' "$(clocks)"
check_eq "an idle clock notes the module's instance" "$(module_instance ktfs)" \
    "$(json_file "$root/$idle_json" 'd["modules"]["ktfs"]["instance"]')"
check_eq "idle.json has mode 0644" 644 "$(stat -c %a "$root/$idle_json")"
set_refcount ktparm 1
run_cmd tool -v
check_match "in use (1 reference), as kmod-reap(8) writes it" '^ktparm: in use \(1 reference\)$' "$RUN_OUT"

age_clock ktfs 500
run_cmd tool -v
check_eq "a module idle past the delay: exit 0" 0 "$RUN_STATUS"
check_match "a module idle past the delay is unloaded, with its idle time" '^kmod-reap: unloaded ktfs \(idle 50[0-9] s\)$' "$RUN_ERR"
check_eq "... through the kernel's delete_module" "ktfs ok" "$(removes)"
check_no_match "... and not listed as staying" '^ktfs:' "$RUN_OUT"
check_fail "... its record is dropped" -- test -e "$root/run/kmod-tools/on-demand/ktfs"
check_eq "... its clock is gone, the other clock runs on" '["kta"]' "$(clocks)"
check_fail "... nothing to save: no settings file" -- test -e "$root/$settings_dir/ktfs.conf"

shim_reset
parameter_set ktc debug 4
run_cmd tool --json --delay 0
check_eq "--delay 0: exit 0" 0 "$RUN_STATUS"
check_eq "--delay 0: the idle module, then the cascade, in order, then those that stay" \
    "kta unloaded (idle N s)
ktb unloaded (freed by this sweep) cascaded
ktc unloaded (freed by this sweep) cascaded
ktsoft kept (keep list (ktsoft))
ktpre kept (not loaded on demand)
ktparm kept (in use (1 reference))" "$(json "$outcomes" | few_seconds)"
check_eq "--json: keys" "$entry_keys" "$(json 'sorted(d[0])')"
check_eq "the cascade reached the kernel in order" "kta ok
ktb ok
ktc ok" "$(removes)"
check_eq "ktc's changed parameter was saved before it went" "# kmod-tools saved settings 1
# Settings of module ktc, saved by kmod-reap before unloading it and restored by kmod-request.
# One parameter per line: NAME=VALUE, the value exactly as /sys/module shows it.
debug=4
# end" "$(cat "$root/$settings_dir/ktc.conf")"
check_eq "settings: directory 0700, file 0600" "700 600" \
    "$(stat -c %a "$root/$settings_dir") $(stat -c %a "$root/$settings_dir/ktc.conf")"
check_fail "modules without changed parameters: no settings file" -- test -e "$root/$settings_dir/kta.conf"
check_eq "what is left loaded" "ktsoft
ktpre
ktparm" "$(loaded)"
shim_reset
request kta
check_eq "the saved setting comes back with the next load" "4" "$(cat "$root/sys/module/ktc/parameters/debug")"

# ---- a dry run changes nothing ---------------------------------------------------------------------
fresh_root
load ktfs
load kta
load ktparm 'label="by hand"'
tool -q # clocks and the lock exist, as after any sweep
# What a real sweep would change: a clock to start (kta's), a stale record to drop (ktinst is not
# loaded), settings to save (ktparm's level and label).
age_clock ktfs 300
drop_clock kta
sed 's/"ktfs"/"ktinst"/' "$root/run/kmod-tools/on-demand/ktfs" >"$root/run/kmod-tools/on-demand/ktinst"
parameter_set ktparm level 9
mkdir -p "$root/$settings_dir" && chmod 0700 "$root/$settings_dir"
printf '# kmod-tools saved settings 1\nlevel=1\n# end\n' >"$root/$settings_dir/ktparm.conf"
chmod 0600 "$root/$settings_dir/ktparm.conf"
state_before=$(tree_sum "$root/run/kmod-tools" "$root/var/lib/kmod-tools")
shim_reset
run_cmd tool -n -v --delay 60
check_eq "-n: exit 0" 0 "$RUN_STATUS"
check_eq "-n: a notice for each module that would go" "kmod-reap: would unload ktfs (idle 300+ s)" \
    "$(printf '%s\n' "$RUN_ERR" | about_300)"
check_eq "-n -v: the others, with their reasons" "ktparm: idle N s of 60 s
kta: idle N s of 60 s
ktb: in use by kta
ktc: in use by ktb, kta" "$(printf '%s\n' "$RUN_OUT" | few_seconds)"
check_eq "-n: nothing reached the kernel" "" "$(shim_calls)"
check_eq "-n: settings, records and idle clocks byte-identical" "$state_before" \
    "$(tree_sum "$root/run/kmod-tools" "$root/var/lib/kmod-tools")"
run_cmd tool -n --json --delay 0
check_eq "-n --json: would unload, first round only (no cascade)" "ktparm $would_unload (idle N s) dry-run
kta $would_unload (idle N s) dry-run
ktfs $would_unload (idle 300+ s) dry-run
ktb kept (in use by kta) dry-run
ktc kept (in use by ktb, kta) dry-run" "$(json "$outcomes" | about_300 | few_seconds)"
check_eq "-n --json: still nothing changed" "$state_before" "$(tree_sum "$root/run/kmod-tools" "$root/var/lib/kmod-tools")"
check_eq "-n --json: nothing reached the kernel" "" "$(shim_calls)"
run_cmd tool --delay 0
check_eq "the same sweep for real unloads the lot" "ktparm ok
kta ok
ktfs ok
ktb ok
ktc ok" "$(removes)"
check_fail "... and drops the stale record" -- test -e "$root/run/kmod-tools/on-demand/ktinst"
check_eq "... and saves ktparm's changed and explicit parameters, over the old ones" "label=by hand
level=9" "$(grep -v '^#' "$root/$settings_dir/ktparm.conf")"

# ---- the cascade's guards ---------------------------------------------------------------------------
# kta's removal frees ktb, then ktc; each guard must keep ktc loaded.
cascade_guard() {
    fresh_root
    load kta
    "$@"
    run_cmd tool --delay 0 --json
}
cascade_guard true
check_eq "cascade without a guard: ktc goes" "kta ok
ktb ok
ktc ok" "$(removes)"
cascade_guard sh -c "printf 'keep = ktc\n' >'$root/etc/kmod-tools/kmod-tools.conf'"
check_eq "cascade: a keep-listed dependency stays" "kta ok
ktb ok" "$(removes)"
check_eq "... with its reason" "ktc kept (keep list (ktc))" "$(json "$outcomes" | grep '^ktc')"
bind_device() {
    mkdir -p "$root/sys/module/$1/drivers/kt:$1" "$root/sys/devices/kt/$2"
    ln -s "../../../../devices/kt/$2" "$root/sys/module/$1/drivers/kt:$1/$2"
}
cascade_guard bind_device ktc kt-dev0
check_eq "cascade: a dependency bound to a device stays" "kta ok
ktb ok" "$(removes)"
add_interface() {
    mkdir -p "$root/sys/class/net/$2" "$root/sys/bus/kt/drivers/$1" "$root/sys/devices/kt/$2"
    ln -s "../../../devices/kt/$2" "$root/sys/class/net/$2/device"
    ln -s "../../../bus/kt/drivers/$1" "$root/sys/devices/kt/$2/driver"
}
cascade_guard add_interface ktc kt0
check_eq "cascade: a dependency with a network interface stays" "kta ok
ktb ok" "$(removes)"
check_eq "... the fake kernel was asked for the interface's driver" "ethtool kt0 ktc" "$(grep '^ethtool' "$shim_log" | sort -u)"
cascade_guard rm "$root/run/kmod-tools/on-demand/ktc"
check_eq "cascade: a dependency not loaded on demand stays" "kta ok
ktb ok" "$(removes)"

# The same guards in the plan of a sweep.
fresh_root
load ktfs
load ktnet
load ktdeny
bind_device ktfs kt-dev1
add_interface ktnet kt1
run_cmd tool -v --delay 0 --keep 'ktd*'
check_eq "a bound driver, a network driver and a keep-listed module stay" "ktdeny: keep list (ktd*)
ktnet: has network interfaces kt1
ktfs: bound to kt-dev1
nothing to unload" "$RUN_OUT"
check_eq "... and nothing reached delete_module" "" "$(removes)"

# ---- named modules, --all ------------------------------------------------------------------------
fresh_root
load ktfs
load kta
load ktparm
tool -q
clocks_before=$(json_file "$root/$idle_json" '{m: v for m, v in d["modules"].items() if m != "ktfs"}')
run_cmd tool -v ktfs
check_eq "a named module: exit 0" 0 "$RUN_STATUS"
check_eq "a named module goes now, whatever its clock" "kmod-reap: unloaded ktfs (named)" "$RUN_ERR"
check_eq "a named run looks at no other module" "ktparm: not named
kta: not named
ktb: not named
ktc: not named" "$RUN_OUT"
check_eq "a named run leaves the other clocks as they were" "$clocks_before" "$(json_file "$root/$idle_json" 'd["modules"]')"
run_cmd tool --json nosuch
check_eq "a named module that is not loaded: exit 1" 1 "$RUN_STATUS"
check_eq "... the error" "kmod-reap: module 'nosuch' is not loaded" "$RUN_ERR"
check_eq "... its JSON entry" "nosuch $not_loaded (not loaded)" "$(json "$outcomes" | grep '^nosuch')"
run_cmd tool fs-ktfs
check_eq "an alias is not a module name: exit 1" 1 "$RUN_STATUS"
set_refcount ktparm 2
run_cmd tool ktparm
check_eq "a named module in use: exit 1" 1 "$RUN_STATUS"
check_eq "... the error" "kmod-reap: not unloading ktparm: in use (2 references)" "$RUN_ERR"
shim_reset
run_cmd tool --keep kta -v kta
check_eq "the keep list does not apply to a named module, and its on-demand dependencies follow" \
    "kmod-reap: unloaded kta (named)
kmod-reap: unloaded ktb (freed by this sweep)
kmod-reap: unloaded ktc (freed by this sweep)" "$RUN_ERR"
fresh_root
load ktfs
bind_device ktfs kt-dev2
run_cmd tool ktfs
check_eq "a named bound driver is unloaded all the same" "ktfs ok" "$(removes)"
run_cmd tool --all ktfs
check_eq "--all with names: exit 2" 2 "$RUN_STATUS"

not_on_demand() {
    fresh_root
    load ktfs
    load kta
    rm "$root/run/kmod-tools/on-demand/ktfs" "$root/run/kmod-tools/on-demand/ktc"
}
not_on_demand
run_cmd tool --json --delay 0
check_eq "without --all, modules not loaded on demand stay, and are not cascaded to" "kta unloaded (idle 0 s)
ktb unloaded (freed by this sweep) cascaded
ktc kept (not loaded on demand)
ktfs kept (not loaded on demand)" "$(json "$outcomes")"
not_on_demand
run_cmd tool --all --json --delay 0
check_eq "--all: every idle module goes; only on-demand ones cascade" "kta unloaded (idle 0 s)
ktfs unloaded (idle 0 s)
ktb unloaded (freed by this sweep) cascaded
ktc kept (in use by ktb, kta)" "$(json "$outcomes")"

# ---- the kernel refuses ------------------------------------------------------------------------------
refused_removal() {
    local error="$1"
    shift
    fresh_root
    load ktfs
    KMOD_TOOLS_SHIM_FAIL="remove:ktfs:$error" run_cmd tool --delay 0 --json "$@"
}
refused_removal EBUSY
check_eq "EBUSY: not a failure, exit 0" 0 "$RUN_STATUS"
check_eq "EBUSY: skipped" "kmod-reap: skipped ktfs: the kernel says it is in use" "$RUN_ERR"
check_eq "EBUSY: JSON" "ktfs busy (the kernel says it is in use)" "$(json "$outcomes")"
check_eq "EBUSY: still loaded, and it has no clock (it starts again)" "ktfs []" "$(loaded) $(clocks)"
refused_removal EAGAIN
check_eq "EAGAIN (what the kernel answers with O_NONBLOCK): busy too, exit 0" "0 ktfs busy (the kernel says it is in use)" \
    "$RUN_STATUS $(json "$outcomes")"
refused_removal ENOENT
check_eq "ENOENT (unloaded by someone else): exit 0" 0 "$RUN_STATUS"
check_eq "ENOENT: skipped" "kmod-reap: skipped ktfs: unloaded by someone else" "$RUN_ERR"
check_fail "ENOENT: its record is dropped" -- test -e "$root/run/kmod-tools/on-demand/ktfs"
refused_removal EPERM
check_eq "EPERM: exit 1" 1 "$RUN_STATUS"
check_eq "EPERM: the error" "kmod-reap: not unloading ktfs: cannot unload 'ktfs': Operation not permitted (unloading modules needs CAP_SYS_MODULE)" "$RUN_ERR"
check_eq "EPERM: JSON, with the error" "ktfs failed (cannot unload 'ktfs': Operation not permitted (unloading modules needs CAP_SYS_MODULE)) error=cannot unload 'ktfs': Operation not permitted (unloading modules needs CAP_SYS_MODULE)" "$(json "$outcomes")"
check_eq "EPERM: still loaded" "ktfs" "$(loaded)"
fresh_root
load ktfs
KMOD_TOOLS_SHIM_FAIL="remove:ktfs:EBUSY" run_cmd tool ktfs
check_eq "a named module the kernel finds busy: exit 1" 1 "$RUN_STATUS"

# ---- driver settings ---------------------------------------------------------------------------------
fresh_root
load ktparm label=x
run_cmd tool --delay 0
check_eq "explicit parameters are saved whatever their values; unchanged others are not" "label=x" \
    "$(grep -v '^#' "$root/$settings_dir/ktparm.conf")"
fresh_root
load ktparm
parameter_set ktparm label 'a"b'
parameter_set ktparm level 5
run_cmd tool --delay 0
check_match "a value no option can carry is not saved, with a warning" \
    '^kmod-reap: warning: not saving parameter label of ktparm: the value contains a double quote' "$RUN_ERR"
check_eq "... the others are, and the module goes" "level=5 / ktparm ok" \
    "$(grep -v '^#' "$root/$settings_dir/ktparm.conf") / $(removes)"
fresh_root
load ktparm
parameter_set ktparm level 5
mkdir -p "$root/var/lib/kmod-tools" "$_fk_work/elsewhere"
ln -s "$_fk_work/elsewhere" "$root/$settings_dir"
run_cmd tool --json --delay 0
check_eq "settings that cannot be saved: exit 1" 1 "$RUN_STATUS"
check_match "... the error, as kmod-reap(8) writes it" "^kmod-reap: not unloading ktparm: cannot save its settings: " "$RUN_ERR"
check_match "... JSON" "^ktparm $not_saved \\(cannot save its settings: " "$(json "$outcomes")"
check_eq "... the module stays: delete_module was never called" "" "$(removes)"
fresh_root
load ktparm
rm "$root/run/kmod-tools/on-demand/ktparm"
run_cmd tool --all --delay 0
check_eq "a module kmod-request did not load: every writable parameter is saved (an unset string is not)" "level=3
mode=1" "$(grep -v '^#' "$root/$settings_dir/ktparm.conf")"

run_cmd tool --list-settings
check_eq "--list-settings" "ktparm: level=3 mode=1" "$RUN_OUT"
mkdir -p "$root/$settings_dir"
printf '# kmod-tools saved settings 1\nlabel=a b\nempty=\n# end\n' >"$root/$settings_dir/ktc.conf"
chmod 0600 "$root/$settings_dir/ktc.conf"
run_cmd tool --list-settings
check_eq "--list-settings: quotes values with spaces and empty ones, modules in order" 'ktc: empty="" label="a b"
ktparm: level=3 mode=1' "$RUN_OUT"
run_cmd tool --list-settings --json
check_eq "--list-settings --json" '{"ktc": {"empty": "", "label": "a b"}, "ktparm": {"level": "3", "mode": "1"}}' "$(json 'd')"
run_cmd tool --list-settings ktparm nosuch
check_eq "--list-settings of a module without settings: exit 1" 1 "$RUN_STATUS"
check_eq "... the others are printed all the same" "ktparm: level=3 mode=1" "$RUN_OUT"
check_eq "... the error" "kmod-reap: no saved settings for 'nosuch'" "$RUN_ERR"
run_cmd tool --forget-settings ktc
check_eq "--forget-settings: exit 0" 0 "$RUN_STATUS"
check_eq "--forget-settings: the notice" "kmod-reap: forgot the saved settings of ktc" "$RUN_ERR"
check_fail "--forget-settings: the file is gone" -- test -e "$root/$settings_dir/ktc.conf"
run_cmd tool --forget-settings ktc
check_eq "--forget-settings of a module without settings: exit 1" 1 "$RUN_STATUS"
run_cmd tool --forget-settings
check_eq "--forget-settings without names: exit 2" 2 "$RUN_STATUS"
run_cmd tool --forget-settings --list-settings ktparm
check_eq "--forget-settings with --list-settings: exit 2" 2 "$RUN_STATUS"

# ---- state that cannot be trusted, the lock, modules_disabled --------------------------------------------
fresh_root
load ktfs
load ktparm
chmod 0664 "$root/run/kmod-tools/on-demand/ktparm"
run_cmd tool -n --json --delay 0
check_match "-n with an untrusted record: a warning" "^kmod-reap: warning: .*ktparm.*; a sweep would remove it and unload nothing$" "$RUN_ERR"
check_eq "-n with an untrusted record: nothing would go" "ktparm kept (not loaded on demand) dry-run
ktfs kept (state rebuilt this sweep) dry-run" "$(json "$outcomes")"
check "-n with an untrusted record: the record stays" -- test -e "$root/run/kmod-tools/on-demand/ktparm"
run_cmd tool --delay 0
check_eq "an untrusted record: exit 0" 0 "$RUN_STATUS"
check_match "... a warning" "^kmod-reap: warning: .*ktparm.*; removing it, nothing is unloaded this sweep$" "$RUN_ERR"
check_eq "... nothing unloaded this sweep" "" "$(removes)"
check_fail "... the record is removed" -- test -e "$root/run/kmod-tools/on-demand/ktparm"
run_cmd tool --delay 0
check_eq "the next sweep proceeds" "ktfs ok" "$(removes)"

fresh_root
load ktfs
echo 1 >"$root/proc/sys/kernel/modules_disabled"
run_cmd tool --delay 0 ktfs
check_eq "modules_disabled: exit 0, even with names" 0 "$RUN_STATUS"
check_eq "modules_disabled: the notice" "kmod-reap: module unloading is disabled (kernel.modules_disabled=1); nothing to do" "$RUN_ERR"
check_eq "modules_disabled: nothing reached the kernel" "" "$(shim_calls)"
echo 0 >"$root/proc/sys/kernel/modules_disabled"

if command -v flock >/dev/null; then
    tool -q
    flock "$root/run/kmod-tools/reap.lock" sh -c "
        LD_PRELOAD='$shim' KMOD_TOOLS_ROOT='$root' KMOD_TOOLS_SHIM_LOG='$shim_log' \
            ASAN_OPTIONS='${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0' \
            '$tool_under_test' --json --delay 0 >'$_fk_work/locked.out' 2>'$_fk_work/locked.err'
        echo \$? >'$_fk_work/locked.status'"
    check_eq "another sweep holds the lock: exit 0" 0 "$(cat "$_fk_work/locked.status")"
    check_eq "... --json prints an empty array" "[]" "$(cat "$_fk_work/locked.out")"
    check_eq "... the notice" "kmod-reap: a sweep is already running; leaving it to finish (--wait waits for it)" \
        "$(cat "$_fk_work/locked.err")"
    check_eq "... nothing unloaded" "" "$(removes)"
else
    skip "another sweep holds the lock" "flock(1) is not installed"
fi

# ---- usage errors ---------------------------------------------------------------------------------------
fresh_root
load ktfs
for bad in abc -1 1.5 5d 99999999999999999999; do
    run_cmd tool --delay "$bad"
    check_eq "--delay '$bad': exit 2" 2 "$RUN_STATUS"
done
check_match "a bad --delay: the message" "^kmod-reap: bad --delay '99999999999999999999': " "$RUN_ERR"
run_cmd tool --delay ''
check_eq "--delay '': exit 2, as every bad --delay (kmod-reap(8))" 2 "$RUN_STATUS"
for bad in '' 'a/b' 'kt fs'; do
    run_cmd tool --keep "$bad"
    check_eq "--keep '$bad': exit 2" 2 "$RUN_STATUS"
done
check_match "a bad --keep: the message" "^kmod-reap: bad --keep pattern 'kt fs': " "$RUN_ERR"
for bad in 'pci:v0000*' 'a/b' '-x' ''; do
    run_cmd tool -- "$bad"
    check_eq "module name '$bad': exit 2" 2 "$RUN_STATUS"
done
run_cmd tool --frobnicate
check_eq "unknown option: exit 2" 2 "$RUN_STATUS"
check_eq "usage errors reached no kernel call" "" "$(shim_calls)"
check_eq "... and the module is still loaded" "ktfs" "$(loaded)"

# ---- The guard on kernel.modprobe ---------------------------------------------------------------
mkdir -p "$root/proc/sys/kernel" "$root/sbin"
printf '#!/bin/sh\n' >"$root/sbin/modprobe"
chmod 0755 "$root/sbin/modprobe"
echo /sbin/modprobe >"$root/proc/sys/kernel/modprobe"
run_cmd tool
check_eq "first sweep that sees kernel.modprobe: exit 0" 0 "$RUN_STATUS"
check_eq "and nothing to say: it is what was set (first seen)" "" "$RUN_ERR"
check_match "it is recorded for the next sweeps" '"origin": "first seen"' "$(cat "$root/run/kmod-tools/helper.json")"
echo /tmp/evil >"$root/proc/sys/kernel/modprobe"
run_cmd tool --json
check_eq "kernel.modprobe changed behind kmod-tools' back: the sweep still works, exit 0" 0 "$RUN_STATUS"
check_eq "a critical audit line names both values" \
    "kmod-reap: audit: kernel.modprobe is '/tmp/evil', not '/sbin/modprobe' as set (first seen); left as it is (set it with kmod-sysctl modprobe=..., or helper_guard = restore to have sweeps put it back)" \
    "$RUN_ERR"
check_eq "--json: an entry for the knob" \
    "kernel.modprobe helper-changed (kernel.modprobe is '/tmp/evil', not '/sbin/modprobe' as set (first seen)) error=kernel.modprobe is '/tmp/evil', not '/sbin/modprobe' as set (first seen)" \
    "$(json "$outcomes" | grep '^kernel.modprobe')"
check_eq "left as it is" /tmp/evil "$(cat "$root/proc/sys/kernel/modprobe")"
run_cmd tool --json
check_eq "the next sweep says nothing more" "" "$RUN_ERR"
check_match "but --json still shows it" '^kernel.modprobe helper-changed ' "$(json "$outcomes")"
mkdir -p "$root/etc/kmod-tools"
echo 'helper_guard = restore' >"$root/etc/kmod-tools/kmod-tools.conf"
run_cmd tool
check_eq "helper_guard = restore: exit 0" 0 "$RUN_STATUS"
check_eq "puts it back, with a critical line" \
    "kmod-reap: audit: kernel.modprobe was changed behind kmod-tools' back to '/tmp/evil'; put back '/sbin/modprobe' (first seen), as helper_guard = restore says" \
    "$RUN_ERR"
check_eq "kernel.modprobe is what was set again" /sbin/modprobe "$(cat "$root/proc/sys/kernel/modprobe")"
echo 'helper_guard = maybe' >"$root/etc/kmod-tools/kmod-tools.conf"
run_cmd tool
check_eq "a bad helper_guard: exit 1" 1 "$RUN_STATUS"
check_match "names the file and line" "kmod-tools.conf:1: bad helper_guard 'maybe': report or restore" "$RUN_ERR"
rm -r "$root/etc/kmod-tools" "$root/proc/sys/kernel" "$root/run/kmod-tools/helper.json"
# ---- a kmod-request killed between insertion and record: the sweep reconciles its intent ----------
fresh_root
pending=$root/run/kmod-tools/pending
RUN_STATUS=0
LD_PRELOAD=$shim KMOD_TOOLS_ROOT=$root KMOD_TOOLS_SHIM_LOG=$shim_log KMOD_TOOLS_SHIM_KILL_AFTER_INSERT=ktb \
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 "$request_tool" kta \
    >/dev/null 2>&1 </dev/null || RUN_STATUS=$?
check_eq "killed after inserting ktb: the request died of SIGKILL" 137 "$RUN_STATUS"
check_eq "killed: ktc and ktb are in, kta never was" "ktb
ktc" "$(loaded)"
check_fail "killed: no record of ktb" -- test -e "$root/run/kmod-tools/on-demand/ktb"
killed_intent=$(ls "$pending" 2>/dev/null)
check_match "killed: its intent is left, named after its pid" '^[1-9][0-9]*$' "$killed_intent"
check_eq "the intent names what was about to go in, for kta" "ktc:kta ktb:kta" \
    "$(json_file "$pending/$killed_intent" '" ".join(m["module"] + ":" + m["requested"] for m in d["modules"])')"
shim_reset
run_cmd tool -n
check_eq "a dry run: exit 0" 0 "$RUN_STATUS"
check_match "a dry run says what it would record" \
    "^kmod-reap: would record ktc ktb, loaded on demand by process $killed_intent which ended before recording them$" \
    "$RUN_ERR"
check_eq "a dry run records nothing and keeps the intent" "$killed_intent" \
    "$(ls "$root/run/kmod-tools/on-demand" 2>/dev/null)$(ls "$pending")"
run_cmd tool --delay 0
check_eq "the next sweep: exit 0" 0 "$RUN_STATUS"
check_match "the next sweep records what the killed request loaded" \
    "^kmod-reap: warning: recorded ktc ktb, loaded on demand by process $killed_intent which ended before recording them$" \
    "$RUN_ERR"
check_eq "that very sweep sees them as on demand and unloads them (delay 0)" "ktb ok
ktc ok" "$(removes)"
check_eq "no intent is left" "" "$(ls -A "$pending")"

# A record of another load is no record of this one; a module loaded before the intent is not ours.
fresh_root
load ktfs
load ktparm
rm "$root/run/kmod-tools/on-demand/ktparm"
mkdir -p "$pending"
printf '{"pid": %s, "requester": "kernel", "written_at": 1, "written_at_boottime": 1, "modules": [
  {"module": "ktfs", "requested": "fs-ktfs", "instance_before": ""},
  {"module": "ktparm", "requested": "ktparm", "instance_before": "%s"},
  {"module": "ktc", "requested": "ktc", "instance_before": ""}]}\n' \
    "$killed_intent" "$(module_instance ktparm)" >"$pending/$killed_intent"
ktfs_record=$(cat "$root/run/kmod-tools/on-demand/ktfs")
run_cmd tool
check_eq "an intent of loads that are recorded, were there before or never happened: exit 0" 0 "$RUN_STATUS"
check_eq "... records nothing new" "ktfs" "$(ls "$root/run/kmod-tools/on-demand")"
check_eq "... leaves the record it found as it was" "$ktfs_record" "$(cat "$root/run/kmod-tools/on-demand/ktfs")"
check_eq "... and goes" "" "$(ls -A "$pending")"

# ---- corrupt, untrusted and misplaced intents: one line each, set aside, the sweep goes on ------
fresh_root
load ktfs
mkdir -p "$pending"
printf '{"pid": ' >"$pending/$killed_intent"
# Named after processes that are gone (killed_intent's, and one more), or judged without reading.
(:) &
gone=$!
wait "$gone"
printf '{"pid": %s, "requester": "kernel", "written_at": 1e300, "written_at_boottime": 1, "modules": []}\n' \
    "$gone" >"$pending/$gone"
echo '{}' >"$root/precious"
ln -s "$root/precious" "$pending/2"
mkdir "$pending/3"
echo '{}' >"$pending/not-a-pid"
chmod 0666 "$pending/not-a-pid"
precious_sum=$(sha256sum <"$root/precious")
run_cmd tool --delay 0
check_eq "bad intents: the sweep exits 0" 0 "$RUN_STATUS"
check_eq "bad intents: one line each" 5 "$(printf '%s\n' "$RUN_ERR" | grep -c 'moved it out of the way')"
check_match "a truncated intent: named and why" \
    "^kmod-reap: warning: corrupt load intent $pending/$killed_intent: not valid JSON; moved it out of the way to $pending/\\.$killed_intent\\.set-aside-" \
    "$RUN_ERR"
check_match "a number out of range: named and why" \
    "^kmod-reap: warning: corrupt load intent $pending/$gone: written_at is not a whole number in range: 1e\\+?300; moved" "$RUN_ERR"
check_match "a symlink: refused, never followed" "^kmod-reap: warning: refusing $pending/2: it is a symlink; moved" "$RUN_ERR"
check_match "a directory: refused" "^kmod-reap: warning: refusing $pending/3: it is a directory, not a regular file; moved" \
    "$RUN_ERR"
check_match "a bad name: refused" "^kmod-reap: warning: corrupt load intent $pending/not-a-pid: its name is not a process id" \
    "$RUN_ERR"
check_eq "the symlink's target is untouched" "$precious_sum" "$(sha256sum <"$root/precious")"
check_eq "the sweep went on: ktfs unloaded" "ktfs ok" "$(removes)"
check_eq "only hidden names are left, which no run reads again" "" "$(ls "$pending")"
run_cmd tool
check_eq "the next sweep has nothing to say about intents" "" "$RUN_ERR"
fresh_root
load ktfs
mkdir -p "$root/elsewhere"
rmdir "$pending"
ln -s "$root/elsewhere" "$pending"
run_cmd tool --delay 0
check_eq "a symlink for the pending directory: exit 1" 1 "$RUN_STATUS"
check_eq "... says so in one line, and the sweep still ran" "kmod-reap: refusing $pending: it is a symlink; load intents not reconciled this sweep
kmod-reap: unloaded ktfs (idle 0 s)" "$RUN_ERR"

check_no_host_access
check_asan_with_shim
tap_done
