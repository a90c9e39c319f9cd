#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# kmod-sysctl against the real kernel: reading and setting kernel.modprobe and unload_delay, the
# helper-safety rules, --json/--persist, privilege checks, and that the kernel runs what was set;
# the trace instance of requester attribution, set up when kmod-request becomes the helper, and
# --trace.
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh

ks=/usr/sbin/kmod-sysctl
require_file "$ks"
proc_modprobe=/proc/sys/kernel/modprobe

# --- Fixtures. /run is root-owned 0755 and /tmp is 1777 (see /init), so only what we make unsafe is.
safe_dir=/run/kmod-test
mkdir -p "$safe_dir"
chmod 0755 "$safe_dir"
helper=$safe_dir/helper
cat >"$helper" <<'EOF'
#!/bin/sh
echo "$*" >>/run/requests.log
exec /sbin/modprobe "$@"
EOF
chmod 0755 "$helper"

mkdir -p /tmp/world-writable
chmod 0777 /tmp/world-writable
cp "$helper" /tmp/world-writable/helper
cp "$helper" "$safe_dir/group-writable"
chmod 0775 "$safe_dir/group-writable"
cp "$helper" "$safe_dir/nobodys"
chown 65534:65534 "$safe_dir/nobodys"
mkdir -p /run/nobodys-dir
cp "$helper" /run/nobodys-dir/helper
chown 65534:65534 /run/nobodys-dir
cp "$helper" "$safe_dir/not-executable"
chmod 0644 "$safe_dir/not-executable"
ln -s "$helper" "$safe_dir/link"
ln -s /tmp/world-writable/helper "$safe_dir/link-to-unsafe"
# A sticky world-writable directory is not safe: once a cleaner removes root's file, anyone can
# create one of that name.
cp "$helper" /tmp/sticky-helper

# EXPECTED_STATUS DESC -- CMD...: the exit status, and stderr when it is wrong.
status_is() {
    local expected="$1" desc="$2"
    shift 2
    [ "${1-}" = -- ] && shift
    run_cmd "$@"
    check_eq "$desc" "$expected" "$RUN_STATUS" || diag "stdout: $RUN_OUT" "stderr: $RUN_ERR"
}

# DESC RULE-REGEX HELPER: refused with exit 1 and one `kmod-sysctl: ` line naming the rule.
expect_refusal() {
    local desc="$1" rule="$2" path="$3" before
    before=$(cat "$proc_modprobe")
    status_is 1 "refuses $desc: exit status 1" -- "$ks" "modprobe=$path"
    check_match "refuses $desc: stderr names the rule" "^kmod-sysctl: .*($rule)" "$RUN_ERR"
    check_eq "refuses $desc: stderr is one line" 1 "$(printf '%s' "$RUN_ERR" | grep -c '')"
    check_eq "refuses $desc: kernel.modprobe unchanged" "$before" "$(cat "$proc_modprobe")"
}

# --- Reading.
run_cmd "$ks"
check_eq "kmod-sysctl with no names exits 0" 0 "$RUN_STATUS" || diag "stderr: $RUN_ERR"
check_match "lists modprobe" '^modprobe = /sbin/modprobe$' "$RUN_OUT"
check_match "lists unload_delay in seconds" '^unload_delay = [0-9]+$' "$RUN_OUT"
check_match "lists modules_disabled" '^modules_disabled = 0$' "$RUN_OUT"
check_eq "-n modprobe prints the value only" /sbin/modprobe "$("$ks" -n modprobe 2>&1)"
check_eq "kernel.modprobe is a synonym" /sbin/modprobe "$("$ks" -n kernel.modprobe 2>&1)"
check_eq "modules_disabled reads 0" 0 "$("$ks" -n modules_disabled 2>&1)"
check_eq "kernel.modules_disabled is a synonym" 0 "$("$ks" -n kernel.modules_disabled 2>&1)"
run_cmd "$ks" --json
check_eq "--json exits 0" 0 "$RUN_STATUS" || diag "stderr: $RUN_ERR"
check_match "--json output has \"modprobe\"" '"modprobe"' "$RUN_OUT"
check_match "--json output is one object" '^\{' "$RUN_OUT"

# --- Setting a safe helper.
status_is 0 "sets kernel.modprobe to a safe root-owned helper" -- "$ks" "kernel.modprobe=$helper"
check_eq "prints the new value as 'name = value'" "modprobe = $helper" "$RUN_OUT"
check_eq "-n modprobe reads it back" "$helper" "$("$ks" -n modprobe 2>&1)"
check_eq "/proc/sys/kernel/modprobe has it" "$helper" "$(cat "$proc_modprobe")"

# --- The safety rules; each refusal must leave the kernel's value alone.
expect_refusal "a helper in a world-writable non-sticky directory" 'writable' /tmp/world-writable/helper
expect_refusal "a group-writable helper" 'writable' "$safe_dir/group-writable"
expect_refusal "a relative path" 'absolute' kmod-test/helper
expect_refusal "a nonexistent helper" 'exist' "$safe_dir/missing"
expect_refusal "a helper not owned by root" 'owned' "$safe_dir/nobodys"
expect_refusal "a helper in a directory not owned by root" 'owned' /run/nobodys-dir/helper
expect_refusal "a non-executable helper" 'executable' "$safe_dir/not-executable"
expect_refusal "a directory" 'regular file|directory' "$safe_dir"
expect_refusal "a symlink to an unsafe helper" 'writable' "$safe_dir/link-to-unsafe"

status_is 1 "refuses a root-owned helper in sticky /tmp" -- "$ks" modprobe=/tmp/sticky-helper
check_match "sticky /tmp: the rule" "directory '/tmp' is writable by others \\(a sticky bit does not make it safe\\)" "$RUN_ERR"
status_is 1 "refuses a helper path ending with /" -- "$ks" "modprobe=$safe_dir/"
status_is 0 "accepts a symlink to a safe helper" -- "$ks" "modprobe=$safe_dir/link"
check_match "kernel.modprobe is the symlink or what it resolves to" "^($safe_dir/link|$helper)\$" \
    "$(cat "$proc_modprobe")"

# --- The kernel runs the helper that was set.
status_is 0 "sets the logging helper" -- "$ks" "modprobe=$helper"
rm -f /run/requests.log
check_fail "reiserfs is not loaded yet" -- module_loaded reiserfs
check_fail "mount -t reiserfs without a device fails" -- mount -t reiserfs none /mnt
check_match "the kernel ran the helper with '-q -- fs-reiserfs'" '^-q -- fs-reiserfs$' \
    "$(cat /run/requests.log 2>/dev/null)"
check "the helper's modprobe loaded reiserfs" -- module_loaded reiserfs

# --- unload_delay: seconds with optional s/m/h, printed in seconds.
status_is 0 "unload_delay=90s" -- "$ks" unload_delay=90s
check_eq "unload_delay=90s prints 90" "unload_delay = 90" "$RUN_OUT"
check_eq "-n unload_delay reads 90" 90 "$("$ks" -n unload_delay 2>&1)"
status_is 0 "unload_delay=2m" -- "$ks" unload_delay=2m
check_eq "-n unload_delay reads 120 after 2m" 120 "$("$ks" -n unload_delay 2>&1)"
status_is 0 "kmod_unload_delay=1h (synonym)" -- "$ks" kmod_unload_delay=1h
check_eq "-n unload_delay reads 3600 after 1h" 3600 "$("$ks" -n unload_delay 2>&1)"
status_is 0 "unload_delay=0" -- "$ks" unload_delay=0
check_eq "-n unload_delay reads 0" 0 "$("$ks" -n unload_delay 2>&1)"
status_is 2 "unload_delay=abc exits 2" -- "$ks" unload_delay=abc
check_match "unload_delay=abc: message on stderr" '^kmod-sysctl: ' "$RUN_ERR"
status_is 2 "unload_delay=-5 exits 2" -- "$ks" unload_delay=-5
status_is 2 "unload_delay=5x exits 2" -- "$ks" unload_delay=5x
check_eq "malformed values left unload_delay alone" 0 "$("$ks" -n unload_delay 2>&1)"
status_is 2 "an unknown name exits 2" -- "$ks" no_such_knob
check_match "unknown name: message on stderr" '^kmod-sysctl: .*no_such_knob' "$RUN_ERR"
status_is 2 "an unknown name to set exits 2" -- "$ks" no_such_knob=1

# --- --persist.
rm -f /etc/sysctl.d/50-kmod-tools.conf
status_is 0 "--persist kernel.modprobe" -- "$ks" --persist "kernel.modprobe=$helper"
check "--persist wrote 'kernel.modprobe = $helper' to /etc/sysctl.d/50-kmod-tools.conf" -- \
    grep -Fqx "kernel.modprobe = $helper" /etc/sysctl.d/50-kmod-tools.conf
status_is 0 "--persist unload_delay=45" -- "$ks" --persist unload_delay=45
check_eq "-n unload_delay reads 45" 45 "$("$ks" -n unload_delay 2>&1)"
check "--persist unload_delay wrote a config drop-in under /etc" -- grep -rqx 'unload_delay *= *45' /etc

# --- Privileges: nobody may not set anything.
status_is 1 "as nobody, setting kernel.modprobe exits 1" -- as_nobody "$ks" "modprobe=$helper"
check_match "as nobody: a clear message on stderr" '^kmod-sysctl: .*(root|[Pp]ermission|privilege)' "$RUN_ERR"
status_is 1 "as nobody, setting unload_delay exits 1" -- as_nobody "$ks" unload_delay=10
check_eq "nobody changed nothing" "$helper 45" "$(cat "$proc_modprobe") $("$ks" -n unload_delay 2>&1)"

# --- An empty helper disables autoloading: allowed, with a warning.
status_is 0 "modprobe= (empty) exits 0" -- "$ks" modprobe=
check_match "modprobe= warns on stderr" '^kmod-sysctl: ' "$RUN_ERR"
check_eq "/proc/sys/kernel/modprobe is empty" "" "$(cat "$proc_modprobe")"
status_is 0 "restores kernel.modprobe=/sbin/modprobe" -- "$ks" modprobe=/sbin/modprobe
check_eq "/proc/sys/kernel/modprobe is /sbin/modprobe again" /sbin/modprobe "$(cat "$proc_modprobe")"

# --- modules_disabled is read-only here (setting it would be a one-way switch for the whole VM).
run_cmd "$ks" modules_disabled=1
check "modules_disabled=1 is refused" -- test "$RUN_STATUS" -ne 0
check_match "modules_disabled=1: message on stderr" '^kmod-sysctl: ' "$RUN_ERR"
check_eq "modules_disabled is still 0" 0 "$(cat /proc/sys/kernel/modules_disabled)"

# --- Requester attribution: the trace instance comes with kmod-request as the helper -------------
instance=/sys/kernel/tracing/instances/kmod-tools
kr=/usr/sbin/kmod-request
check_fail "no trace instance while another helper is set" -- test -e "$instance"
status_is 0 "--trace=status" -- "$ks" --trace=status
check_eq "--trace=status: absent" "trace = absent ($instance does not exist)" "$RUN_OUT"
status_is 0 "modprobe=$kr" -- "$ks" "modprobe=$kr"
check_eq "modprobe=$kr: nothing to say" "" "$RUN_ERR"
check_eq "kernel.modprobe is kmod-request" "$kr" "$(cat "$proc_modprobe")"
check "it set up the trace instance" -- test -d "$instance"
check_eq "recording module:module_request, nothing else" module:module_request "$(cat "$instance/set_event")"
check_eq "tracing is on" 1 "$(cat "$instance/tracing_on")"
check_match "with the boot clock" '\[boot\]' "$(cat "$instance/trace_clock")"
check_eq "--trace=status: ready" "trace = ready" "$("$ks" --trace=status 2>&1)"
check_eq "--trace=status -n: ready" ready "$("$ks" -n --trace=status 2>&1)"
check_match "--trace=status --json: ready" '"state": "ready"' "$("$ks" --json --trace=status 2>&1)"
check_match "--trace=status --json: the instance" "\"instance\": \"$instance\"" "$("$ks" --json --trace=status 2>&1)"
check_fail "the kernel's request for minix (a mount of an unloaded type)" -- mount -t minix none /mnt
check "was served by kmod-request" -- module_loaded minix
# Every read of the instance drains its trace_pipe into the journal the helpers share.
journal=/run/kmod-tools/request-events
"$ks" -q --trace=status >/dev/null 2>&1
check_match "and recorded by the instance, after its start marker" \
    'tracing_mark_write: kmod-tools: recording.*module_request: fs-minix ' "$(tr '\n' ' ' <"$journal")"
status_is 0 "modprobe=$kr again" -- "$ks" -q "modprobe=$kr"
check_match "a ready instance is kept, events and all" 'module_request: fs-minix ' "$(cat "$journal")"

status_is 0 "switching to /sbin/modprobe" -- "$ks" -q modprobe=/sbin/modprobe
check_eq "leaves the instance as it is" ready "$("$ks" -n --trace=status 2>&1)"
status_is 0 "--trace=remove" -- "$ks" --trace=remove
check_eq "--trace=remove prints the state after" "trace = absent ($instance does not exist)" "$RUN_OUT"
check_fail "the instance is gone" -- test -e "$instance"
status_is 0 "--trace=remove again: nothing to remove" -- "$ks" -q --trace=remove
status_is 0 "--trace=setup" -- "$ks" --trace=setup
check_eq "--trace=setup: ready" "trace = ready" "$RUN_OUT"
check "--trace=remove" -- "$ks" -q --trace=remove

status_is 0 "--trace=auto with /sbin/modprobe as the helper" -- "$ks" -q --trace=auto
check_fail "sets nothing up" -- test -e "$instance"
# As systemd-sysctl would at boot from kmod-sysctl --persist's file: no kmod-sysctl involved.
echo "$kr" >"$proc_modprobe"
status_is 0 "--trace=auto with kmod-request as the helper (set behind kmod-sysctl's back)" -- "$ks" --trace=auto
check_eq "--trace=auto: ready" "trace = ready" "$RUN_OUT"
check_eq "recording module:module_request" module:module_request "$(cat "$instance/set_event" 2>&1)"
echo 0 >"$instance/tracing_on"
check_match "an instance that stopped recording is misconfigured" '^misconfigured' "$("$ks" -n --trace=status 2>&1)"
status_is 0 "modprobe=$kr re-creates it" -- "$ks" -q "modprobe=$kr"
check_eq "ready again" ready "$("$ks" -n --trace=status 2>&1)"
check "--trace=remove" -- "$ks" -q --trace=remove
status_is 0 "restores kernel.modprobe=/sbin/modprobe" -- "$ks" -q modprobe=/sbin/modprobe

# All or nothing: a switch that fails part way removes the instance it set up.
mv /etc/sysctl.d /etc/sysctl.d.saved
mkdir -p /run/elsewhere
ln -s /run/elsewhere /etc/sysctl.d
status_is 1 "--persist modprobe=$kr with a symlinked /etc/sysctl.d: exit 1" -- "$ks" --persist "modprobe=$kr"
check_match "nothing was changed" "nothing was changed" "$RUN_ERR"
check_eq "kernel.modprobe is as it was" /sbin/modprobe "$(cat "$proc_modprobe")"
check_fail "and the instance it set up is gone again" -- test -e "$instance"
rm /etc/sysctl.d
mv /etc/sysctl.d.saved /etc/sysctl.d

# Not root: tracefs is root's (0700).
run_cmd as_nobody "$ks" --trace=status
check_eq "as nobody, --trace=status: exit 0" 0 "$RUN_STATUS"
check_match "and says it cannot look" "^trace = no tracefs \(cannot open /sys/kernel/tracing: Permission denied\)$" "$RUN_OUT"
status_is 1 "as nobody, --trace=setup: exit 1" -- as_nobody "$ks" --trace=setup
check_match "as nobody, --trace=setup: says why" "cannot open /sys/kernel/tracing: Permission denied" "$RUN_ERR"
check_fail "as nobody, nothing was set up" -- test -e "$instance"

tap_done
