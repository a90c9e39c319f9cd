#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# kmod-sysctl's command line against a fake root (KMOD_TOOLS_ROOT): output formats, the layers it
# writes, refusals and exit statuses. The VM suite proves the same against the real /proc/sys.
# Usage: kmod-sysctl.sh PATH-TO-kmod-sysctl PATH-TO-vm-lib.sh
# shellcheck shell=dash disable=SC1090
set -u
tool=$1
. "$2"

root=$(mktemp -d /tmp/kmod-sysctl-cli.XXXXXX)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
export KMOD_TOOLS_ROOT="$root"
mkdir -p "$root/proc/sys/kernel" "$root/usr/sbin" "$root/scratch"
echo /sbin/modprobe >"$root/proc/sys/kernel/modprobe"
echo 0 >"$root/proc/sys/kernel/modules_disabled"
printf '#!/bin/sh\n' >"$root/usr/sbin/helper"
chmod 0755 "$root/usr/sbin/helper"
chmod 0777 "$root/scratch"
cp -p "$root/usr/sbin/helper" "$root/scratch/helper"

run_cmd "$tool"
check_eq "no arguments: exit 0" 0 "$RUN_STATUS"
check_eq "no arguments: every knob" "modprobe = /sbin/modprobe
unload_delay = 120
modules_disabled = 0" "$RUN_OUT"
check_eq "-n prints values only" "/sbin/modprobe" "$("$tool" -n kernel.modprobe)"
check_eq "synonym kmod_unload_delay" "unload_delay = 120" "$("$tool" kmod_unload_delay)"

run_cmd "$tool" modprobe=/usr/sbin/helper unload_delay=2m
check_eq "set two knobs: exit 0" 0 "$RUN_STATUS"
check_eq "set prints the new values" "modprobe = /usr/sbin/helper
unload_delay = 120" "$RUN_OUT"
check_eq "the helper reached /proc/sys/kernel/modprobe" /usr/sbin/helper "$(cat "$root/proc/sys/kernel/modprobe")"
check_match "unload_delay went to the runtime layer" '^unload_delay = 120$' "$(cat "$root/run/kmod-tools/runtime.conf")"
check_fail "without --persist nothing is written under /etc" -- test -e "$root/etc"
check_match "--json" '"unload_delay": 120' "$("$tool" --json)"
check_match "--json modules_disabled is a boolean" '"modules_disabled": false' "$("$tool" --json)"

run_cmd "$tool" -p modprobe=/usr/sbin/helper unload_delay=90s
check_eq "--persist: exit 0" 0 "$RUN_STATUS"
check_match "--persist writes the sysctl.d drop-in" '^kernel.modprobe = /usr/sbin/helper$' \
    "$(cat "$root/etc/sysctl.d/50-kmod-tools.conf")"
check_match "--persist writes the config drop-in" '^unload_delay = 90$' \
    "$(cat "$root/etc/kmod-tools/kmod-tools.conf.d/90-kmod-sysctl.conf")"
printf 'unload_delay = 5\n' >"$root/etc/kmod-tools/kmod-tools.conf.d/95-admin.conf"
run_cmd "$tool" -p unload_delay=1h
check_match "--persist warns when a later drop-in overrides it at boot" "unload_delay 5 set in .*95-admin.conf:1 will override it at boot" "$RUN_ERR"
check_eq "the runtime value wins until reboot" 3600 "$("$tool" -n unload_delay)"
rm "$root/etc/kmod-tools/kmod-tools.conf.d/95-admin.conf"

run_cmd "$tool" modprobe=/scratch/helper
check_eq "helper in a world-writable directory: exit 1" 1 "$RUN_STATUS"
check_eq "helper in a world-writable directory: the rule" \
    "kmod-sysctl: refusing modprobe helper '/scratch/helper': directory '/scratch' is writable by others" "$RUN_ERR"
check_eq "refused: nothing changed" /usr/sbin/helper "$(cat "$root/proc/sys/kernel/modprobe")"
run_cmd "$tool" unload_delay=7 modprobe=/scratch/helper
check_eq "an unsafe helper after a good entry: exit 1" 1 "$RUN_STATUS"
check_eq "and the good entry was not applied either" 3600 "$("$tool" -n unload_delay)"
chmod 0775 "$root/usr/sbin/helper"
run_cmd "$tool" modprobe=/usr/sbin/helper
check_match "group-writable helper refused" "'/usr/sbin/helper' is writable by its group" "$RUN_ERR"
chmod 0755 "$root/usr/sbin/helper"
ln -s helper "$root/usr/sbin/helper-link"
check_eq "a symlink to a safe helper is accepted" "modprobe = /usr/sbin/helper-link" "$("$tool" modprobe=/usr/sbin/helper-link)"
run_cmd "$tool" modprobe=usr/sbin/helper
check_match "relative helper refused" "not an absolute path" "$RUN_ERR"
run_cmd "$tool" modprobe=/usr/sbin/none
check_match "missing helper refused" "'/usr/sbin/none' does not exist" "$RUN_ERR"
run_cmd "$tool" modprobe=
check_eq "empty helper: exit 0" 0 "$RUN_STATUS"
check_match "empty helper: warns that autoloading is off" "warning: an empty modprobe disables module autoloading" "$RUN_ERR"
check_eq "empty helper reached the kernel" "" "$(cat "$root/proc/sys/kernel/modprobe")"

for bad in abc -1 1.5 5d '' 99999999999999999999; do
    run_cmd "$tool" "unload_delay=$bad"
    check_eq "unload_delay='$bad': exit 2" 2 "$RUN_STATUS"
done
run_cmd "$tool" bogus
check_eq "unknown name: exit 2" 2 "$RUN_STATUS"
check_match "unknown name: says which" "unknown name 'bogus'" "$RUN_ERR"
run_cmd "$tool" modules_disabled=1
check_eq "modules_disabled is read-only: exit 2" 2 "$RUN_STATUS"
run_cmd "$tool" --frobnicate
check_eq "unknown option: exit 2" 2 "$RUN_STATUS"
run_cmd "$tool" --persist
check_eq "--persist without NAME=VALUE: exit 2" 2 "$RUN_STATUS"
run_cmd "$tool" -n --json
check_eq "-n with --json: exit 2" 2 "$RUN_STATUS"

printf 'unload_delay = 10\nkeep = ok\nfrobnicate = 1\n' >"$root/etc/kmod-tools/kmod-tools.conf"
run_cmd "$tool" unload_delay
check_eq "a bad config file: exit 1" 1 "$RUN_STATUS"
check_eq "a bad config file: names file and line" \
    "kmod-sysctl: $root/etc/kmod-tools/kmod-tools.conf:3: unknown key 'frobnicate'" "$RUN_ERR"
printf 'unload_delay = 10\n' >"$root/etc/kmod-tools/kmod-tools.conf"
chmod 0666 "$root/etc/kmod-tools/kmod-tools.conf"
run_cmd "$tool" unload_delay
check_match "a world-writable config file is refused" "kmod-tools.conf' is writable by others" "$RUN_ERR"
chmod 0644 "$root/etc/kmod-tools/kmod-tools.conf"

rm "$root/run/kmod-tools/runtime.conf"
ln -s /etc/passwd "$root/run/kmod-tools/runtime.conf"
run_cmd "$tool" unload_delay=5
check_eq "a symlink planted as the runtime layer: replaced, not followed" 0 "$RUN_STATUS"
check_fail "the runtime layer is a file again" -- test -L "$root/run/kmod-tools/runtime.conf"

# All or nothing: an I/O failure part way puts back what was already set, live value and files.
echo /sbin/modprobe >"$root/proc/sys/kernel/modprobe"
rm -rf "$root/etc/sysctl.d" "$root/etc/kmod-tools/kmod-tools.conf.d"
mkdir -p "$root/elsewhere"
ln -s /elsewhere "$root/etc/sysctl.d"
run_cmd "$tool" --persist modprobe=/usr/sbin/helper
check_eq "a symlinked sysctl.d: exit 1" 1 "$RUN_STATUS"
check_match "a symlinked sysctl.d: says what and that nothing changed" \
    "refusing .*/etc/sysctl.d: it is a symlink; nothing was changed" "$RUN_ERR"
check_eq "a symlinked sysctl.d: the live helper is put back" /sbin/modprobe "$(cat "$root/proc/sys/kernel/modprobe")"
rm "$root/etc/sysctl.d"
ln -s /elsewhere "$root/etc/kmod-tools/kmod-tools.conf.d"
before_runtime=$(cat "$root/run/kmod-tools/runtime.conf")
run_cmd "$tool" --persist modprobe=/usr/sbin/helper unload_delay=7
check_eq "the second of two fails: exit 1" 1 "$RUN_STATUS"
check_eq "the second of two fails: the live helper is put back" /sbin/modprobe "$(cat "$root/proc/sys/kernel/modprobe")"
check_fail "the second of two fails: the persisted helper file is gone again" -- test -e "$root/etc/sysctl.d/50-kmod-tools.conf"
check_eq "the second of two fails: the runtime layer is as it was" "$before_runtime" "$(cat "$root/run/kmod-tools/runtime.conf")"
check_eq "the second of two fails: nothing printed" "" "$RUN_OUT"
rm "$root/etc/kmod-tools/kmod-tools.conf.d"

# The guard: kmod-sysctl records what it set, and says when the kernel's value is no longer that.
run_cmd "$tool" -q modprobe=/usr/sbin/helper
check_match "setting modprobe records it as what the admin set" '"origin": "kmod-sysctl"' \
    "$(cat "$root/run/kmod-tools/helper.json")"
check_eq "and has nothing to say" "" "$RUN_ERR"
echo /scratch/helper >"$root/proc/sys/kernel/modprobe"
run_cmd "$tool" modprobe
check_eq "kernel.modprobe changed behind its back: reading still works, exit 0" 0 "$RUN_STATUS"
check_eq "it prints the kernel's value" "modprobe = /scratch/helper" "$RUN_OUT"
check_match "and a critical audit line with both values" \
    "^kmod-sysctl: audit: kernel.modprobe is '/scratch/helper', not '/usr/sbin/helper' as set \\(kmod-sysctl\\)" "$RUN_ERR"
run_cmd "$tool" modprobe
check_eq "once per change" "" "$RUN_ERR"
check_eq "never put back by kmod-sysctl" /scratch/helper "$(cat "$root/proc/sys/kernel/modprobe")"
run_cmd "$tool" -q modprobe=/usr/sbin/helper
check_eq "setting it again is the admin's decision: nothing to say" "" "$RUN_ERR"

# --- The trace instance for requester attribution ----------------------------------------------
# A fake root has no tracefs: a directory there passes for one only because the tools skip the
# fstatfs check under KMOD_TOOLS_ROOT, and mkdir in it makes an empty directory where tracefs would
# fill in the settings, so every set-up here fails. The VM (scenarios/sysctl.sh) sets up a real one.
tracefs=$root/sys/kernel/tracing
instance=$tracefs/instances/kmod-tools
no_tracefs="tracefs is not mounted on $tracefs (nor reachable as $root/sys/kernel/debug/tracing)"
printf '#!/bin/sh\n' >"$root/usr/sbin/kmod-request"
chmod 0755 "$root/usr/sbin/kmod-request"
ln -s kmod-request "$root/usr/sbin/kr-link"
cp -p "$root/usr/sbin/helper" "$root/usr/sbin/kmod-request-wrapper"

run_cmd "$tool" modprobe=/usr/sbin/kmod-request
check_eq "modprobe=kmod-request without tracefs: exit 0" 0 "$RUN_STATUS"
check_eq "the one warning line says why attribution is not set up" \
    "kmod-sysctl: warning: requester attribution not set up: $no_tracefs" "$RUN_ERR"
check_eq "and the helper is set all the same" "modprobe = /usr/sbin/kmod-request" "$RUN_OUT"
check_eq "in the kernel's knob" /usr/sbin/kmod-request "$(cat "$root/proc/sys/kernel/modprobe")"
check_fail "nothing else changed: no /sys made" -- test -e "$root/sys"
check_fail "nor an event journal" -- test -e "$root/run/kmod-tools/request-events"
run_cmd "$tool" -q modprobe=/usr/sbin/kr-link
check_match "a symlink to kmod-request is kmod-request too" "requester attribution not set up" "$RUN_ERR"
run_cmd "$tool" -q modprobe=/usr/sbin/kmod-request-wrapper
check_eq "another helper (a wrapper of another name): tracing is not its business" "0:" "$RUN_STATUS:$RUN_ERR"

run_cmd "$tool" --trace=status
check_eq "--trace=status without tracefs: exit 0" 0 "$RUN_STATUS"
check_eq "--trace=status: the state and why" "trace = no tracefs ($no_tracefs)" "$RUN_OUT"
check_eq "--trace status -n: the state alone" "no tracefs" "$("$tool" -n --trace status)"
check_match "--trace=status --json: the state" '"state": "no tracefs"' "$("$tool" --json --trace=status)"
check_match "--trace=status --json: the problem" "\"problem\": \"tracefs is not mounted" "$("$tool" --json --trace=status)"
check_eq "-q does not silence status" "no tracefs" "$("$tool" -q -n --trace=status)"
run_cmd "$tool" --trace=setup
check_eq "--trace=setup without tracefs: exit 1" 1 "$RUN_STATUS"
check_eq "--trace=setup: says why" "kmod-sysctl: cannot set up request tracing: $no_tracefs" "$RUN_ERR"
run_cmd "$tool" --trace=remove
check_eq "--trace=remove without tracefs: nothing to remove, exit 0" 0 "$RUN_STATUS"
run_cmd "$tool" --trace=auto
check_eq "--trace=auto with another helper: exit 0, nothing said" "0:" "$RUN_STATUS:$RUN_ERR"
"$tool" -q modprobe=/usr/sbin/kmod-request 2>/dev/null
run_cmd "$tool" -q --trace=auto
check_eq "--trace=auto with kmod-request as the helper: exit 0" 0 "$RUN_STATUS"
check_eq "--trace=auto: the same warning as modprobe=" \
    "kmod-sysctl: warning: requester attribution not set up: $no_tracefs" "$RUN_ERR"
check_eq "-q: nothing printed" "" "$RUN_OUT"
check_fail "nothing made" -- test -e "$root/sys"

mkdir -p "$tracefs/instances"
chmod 0700 "$tracefs"
run_cmd "$tool" modprobe=/usr/sbin/kmod-request
check_eq "modprobe=kmod-request with a tracefs that cannot be set up: exit 0" 0 "$RUN_STATUS"
check_eq "the warning names what failed" \
    "kmod-sysctl: warning: requester attribution not set up: cannot open $instance/set_event: No such file or directory" \
    "$RUN_ERR"
check_fail "no half-made instance is left behind" -- test -e "$instance"
check_eq "--trace=status: absent" "trace = absent ($instance does not exist)" "$("$tool" --trace=status)"
mkdir "$instance"
run_cmd "$tool" --trace=remove
check_eq "--trace=remove: exit 0" 0 "$RUN_STATUS"
check_eq "--trace=remove prints the state after" "trace = absent ($instance does not exist)" "$RUN_OUT"
check_fail "the instance is gone" -- test -e "$instance"

# An instance as the kernel shows one that kmod-tools set up (the files tracefs would fill in).
mkdir -m 0750 "$instance"
echo module:module_request >"$instance/set_event"
: >"$instance/set_event_pid"
echo 1 >"$instance/tracing_on"
echo 'local global counter uptime perf mono mono_raw [boot] tai x86-tsc' >"$instance/trace_clock"
echo 16 >"$instance/buffer_size_kb"
printf '%s\n' print-parent overwrite nomarkers nopause-on-trace >"$instance/trace_options"
echo '     kmod-sysctl-90      [000] .....     5.100000: tracing_mark_write: kmod-tools: recording' \
    >"$instance/trace_pipe"
run_cmd "$tool" --trace=status
check_eq "a ready instance: --trace=status says ready" "0:trace = ready" "$RUN_STATUS:$RUN_OUT"
check_match "--json names the instance" "\"instance\": \"$instance\"" "$("$tool" --json --trace=status)"
run_cmd "$tool" modprobe=/usr/sbin/kmod-request
check_eq "modprobe=kmod-request with a ready instance: keeps it, nothing to say" "0:" "$RUN_STATUS:$RUN_ERR"
run_cmd "$tool" --trace=setup
check_eq "--trace=setup with a ready instance: kept, exit 0" "0:trace = ready" "$RUN_STATUS:$RUN_OUT"
check_eq "events and all" "" "$(cd "$instance" && find . -newer trace_pipe)"
rm -r "$instance"

for bad in "--trace=bogus" "--trace" "--trace=status modprobe" "--trace=setup --persist" "--trace=status --all" \
    "--trace=status -n --json"; do
    # shellcheck disable=SC2086 # one word per option
    run_cmd "$tool" $bad
    check_eq "$bad: exit 2" 2 "$RUN_STATUS"
done
run_cmd "$tool" --trace=bogus
check_match "a bad action names the known ones" "bad --trace 'bogus' \(known: setup, remove, status, auto\)" "$RUN_ERR"

rm -r "$root/proc/sys/kernel"
run_cmd "$tool" modprobe
check_eq "no module support: exit 1" 1 "$RUN_STATUS"
check_match "no module support: says so" "the kernel has no module support" "$RUN_ERR"

tap_done
