#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# kmod-request against a fake root with the test shim as its kernel: what reaches the kernel (which
# modules, in which order, with which options), records, restored settings, policy, output and exit
# statuses. The VM suite proves the same against Debian's real kernel.
# Usage: kmod-request.sh PATH-TO-kmod-request PATH-TO-shim.so vm-lib.sh fake-kernel.sh
# shellcheck shell=dash disable=SC1090,SC2016
set -u
. "$3"
. "$4"

# ---- JSON shapes: the one place that knows the keys and values of kmod-request's JSON ----------
result_keys='["dry_run", "error", "inserted", "modules", "name", "policy_note", "requester", "requester_class", "status"]'
dry_run_status=would-insert
explain_keys='["classes", "modules", "name", "policy_mode"]'
explain_class_keys='["allowed", "members", "policy"]'
explain_member_keys='["install_command", "module", "policy", "present", "role", "verdict", "via"]'
explain_module_keys='["builtin", "dependencies", "install_command", "loaded", "name", "path"]'
# One line per result: NAME STATUS REQUESTER inserted=A,B modules=C error=TEXT, and " dry-run"
# for a result of a dry run.
results='"\n".join("%s %s %s inserted=%s modules=%s error=%s%s" % (r["name"], r["status"], r["requester"],
    ",".join(r["inserted"]), ",".join(r["modules"]), r["error"], " dry-run" if r["dry_run"] else "") for r in d)'
explained='"\n".join("%s allowed=%s modules=%s" % (e["name"], e["classes"]["unknown"]["allowed"],
    ",".join("%s:%s:%s" % (m["name"], m["loaded"], "+".join(m["dependencies"])) for m in e["modules"])) for e in d)'
# ---- end of JSON shapes ------------------------------------------------------------------------

fixture_start
tree=$root/lib/modules/$release
# Who asked, in the audit line of a kernel request on a fake root: nobody can know.
unknown_requester="from an unknown requester (tracing not set up: tracefs is not mounted on $root/sys/kernel/tracing (nor reachable as $root/sys/kernel/debug/tracing))"
ko=$tree/kernel/drivers/kt

# The kernel's insert calls: "NAME RESULT", or "NAME RESULT OPTIONS..." as given to the kernel.
inserts() { awk '$1 == "insert" { print $2, $3 }' "$shim_log"; }
inserts_with_options() { sed -n 's/^insert //p' "$shim_log"; }
record() { json_file "$root/run/kmod-tools/on-demand/$1" "$2"; }

# Runs the tool as the kernel does: its parent is a kernel thread, which kmod-request reads in
# /proc/PPID/stat under the root (a real kernel thread cannot be had in a test; its stat can).
as_kernel_helper() {
    FK_SHIM=$shim FK_ASAN=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 KMOD_TOOLS_ROOT=$root \
        KMOD_TOOLS_SHIM_LOG=$shim_log sh -c '
            mkdir -p "$KMOD_TOOLS_ROOT/proc/$$"
            printf "%s (kworker/u8:2) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n" "$$" \
                >"$KMOD_TOOLS_ROOT/proc/$$/stat"
            LD_PRELOAD=$FK_SHIM ASAN_OPTIONS=$FK_ASAN "$@"
            status=$?
            rm -r "$KMOD_TOOLS_ROOT/proc/$$"
            exit "$status"' as_kernel_helper "$tool_under_test" "$@"
}

# ---- no test can reach the real kernel ----------------------------------------------------------
fresh_root
RUN_STATUS=0
KMOD_TOOLS_ROOT=$root "$tool_under_test" fs-ktfs >"$_fk_work/out" 2>"$_fk_work/err" </dev/null || RUN_STATUS=$?
check_eq "without the shim under KMOD_TOOLS_ROOT: exit 1" 1 "$RUN_STATUS"
check_eq "without the shim: refuses to touch the running kernel" \
    'kmod-request: refusing to load or unload modules of the running kernel with $KMOD_TOOLS_ROOT set (a test tree needs the test shim preloaded)' \
    "$(cat "$_fk_work/err")"
check_eq "without the shim: nothing loaded in the fake kernel" "" "$(loaded)"
check_fail "without the shim: nothing recorded" -- test -e "$root/run/kmod-tools/on-demand/ktfs"
RUN_STATUS=0
KMOD_TOOLS_ROOT=$root "$tool_under_test" -n fs-ktfs >/dev/null 2>&1 </dev/null || RUN_STATUS=$?
check_eq "without the shim a dry run still works (it needs no kernel)" 0 "$RUN_STATUS"

# ---- the helper's argument forms ---------------------------------------------------------------
# Each form loads fs-ktfs into a fresh kernel; who asked decides the requester and the log target.
helper_form() {
    local desc="$1" requester="$2"
    shift 2
    fresh_root
    run_cmd "$@"
    check_eq "$desc: exit 0" 0 "$RUN_STATUS"
    check_eq "$desc: the kernel was asked for ktfs only" "ktfs ok" "$(inserts)"
    check_eq "$desc: recorded with requester $requester" "fs-ktfs $requester" \
        "$(record ktfs 'd["requested"] + " " + d["requester"]')"
}
helper_form "'-q -- fs-ktfs' from a kernel thread" kernel as_kernel_helper -q -- fs-ktfs
check_eq "'-q -- NAME' from a kernel thread: the audit line goes to the kernel log" \
    "<5>kmod-request: audit: kernel request 'fs-ktfs' $unknown_requester granted: inserted ktfs" "$(cat "$root/dev/kmsg")"
check_eq "'-q -- NAME' from a kernel thread: nothing on stderr" "" "$RUN_ERR"
helper_form "'-q -- fs-ktfs' from a shell" user tool -q -- fs-ktfs
check_eq "'-q -- NAME' from a shell: no audit line" "" "$(cat "$root/dev/kmsg")"
helper_form "'-s -k fs-ktfs'" kernel tool -s -k fs-ktfs
check_eq "'-s -k NAME': the audit line goes to syslog (facility daemon)" \
    "syslog daemon.notice kmod-request: audit: kernel request 'fs-ktfs' $unknown_requester granted: inserted ktfs" \
    "$(grep '^syslog ' "$shim_log")"
helper_form "'-s -k -- fs-ktfs'" kernel tool -s -k -- fs-ktfs
check_match "'-s -k -- NAME': audited in syslog" "^syslog daemon.notice kmod-request: audit: kernel request 'fs-ktfs' from .* granted" \
    "$(cat "$shim_log")"
fresh_root
rm "$root/dev/log"
run_cmd tool -s -k fs-ktfs
check_eq "'-s -k NAME' without a syslog listener: the audit line goes to the kernel log" \
    "<5>kmod-request: audit: kernel request 'fs-ktfs' $unknown_requester granted: inserted ktfs" "$(cat "$root/dev/kmsg")"
check_eq "'-s -k NAME' without a syslog listener: nothing sent to syslog" "" "$(grep '^syslog ' "$shim_log")"
helper_form "'-q fs-ktfs'" user tool -q fs-ktfs
helper_form "'fs-ktfs -q'" user tool fs-ktfs -q
helper_form "'fs-ktfs'" user tool fs-ktfs
helper_form "'-k fs-ktfs'" kernel tool -k fs-ktfs
check_eq "'-k NAME': the audit line goes to the kernel log" \
    "<5>kmod-request: audit: kernel request 'fs-ktfs' $unknown_requester granted: inserted ktfs" "$(cat "$root/dev/kmsg")"
run_cmd tool -q -- -ktfs
check_eq "'-q -- -NAME': a name starting with '-' is bad even after --: exit 2" 2 "$RUN_STATUS"

# ---- dependency order, records --------------------------------------------------------------------
fresh_root
run_cmd tool kta
check_eq "kta: exit 0" 0 "$RUN_STATUS"
check_eq "kta: dependencies first (modules.dep order)" "ktc ok
ktb ok
kta ok" "$(inserts)"
check_eq "kta: nothing printed" "" "$RUN_OUT$RUN_ERR"
check_eq "kta: a record for each module inserted" "kta
ktb
ktc" "$(ls "$root/run/kmod-tools/on-demand")"
check_eq "the record of a dependency names the request" "ktc kta user" \
    "$(record ktc 'd["module"] + " " + d["requested"] + " " + d["requester"]')"
check_eq "the record's instance is the inode of /sys/module/ktb" "$(module_instance ktb)" "$(record ktb 'd["instance"]')"
check_eq "ktc's parameters at load are in its record" '{"debug": "0"}' "$(record ktc 'd["parameters_at_load"]')"
check_eq "a module without parameters records an empty set" '{}' "$(record kta 'd["parameters_at_load"]')"
check_eq "records have mode 0644" "644" "$(stat -c %a "$root/run/kmod-tools/on-demand/kta")"
records_before=$(tree_sum "$root/run/kmod-tools/on-demand")
shim_reset
run_cmd tool -v --json kta
check_eq "kta again: nothing reaches the kernel" "" "$(inserts)"
check_eq "kta again: already-loaded, nothing inserted" "kta already-loaded user inserted= modules=kta error=None" \
    "$(json "$results")"
check_eq "kta again: -v says so" "kmod-request: kta: already-loaded" "$RUN_ERR"
check_eq "kta again: the records are left as they were" "$records_before" "$(tree_sum "$root/run/kmod-tools/on-demand")"
shim_reset
run_cmd tool -v ktsoft
check_eq "ktsoft: its softdep ktpre goes in first" "ktpre ok
ktsoft ok" "$(inserts)"
check_eq "-v: what was inserted" "kmod-request: ktsoft: inserted ktpre ktsoft" "$RUN_ERR"
check_eq "ktsoft's soft dependency is recorded too" "ktsoft" "$(record ktpre 'd["requested"]')"

fresh_root
run_cmd tool ktc
rm "$root/run/kmod-tools/on-demand/ktc"
shim_reset
run_cmd tool --json kta
check_eq "kta with ktc loaded already: only the others go in" "ktb ok
kta ok" "$(inserts)"
check_eq "kta with ktc loaded already: JSON lists what went in" "kta inserted user inserted=ktb,kta modules=kta error=None" \
    "$(json "$results")"
check_eq "kta with ktc loaded already: the module loaded before is not recorded" "kta
ktb" "$(ls "$root/run/kmod-tools/on-demand")"

# The kernel runs up to 50 helpers at once: each module goes in once, and every request succeeds.
fresh_root
helpers=
for i in 1 2 3 4 5 6 7 8; do
    (as_kernel_helper -q -- kta; echo "$?" >"$_fk_work/concurrent.$i") &
    helpers="$helpers $!"
done
# shellcheck disable=SC2086 # one pid a word
wait $helpers
check_eq "8 concurrent requests for kta: all exit 0" "0 0 0 0 0 0 0 0" "$(cat "$_fk_work"/concurrent.* | tr '\n' ' ' | sed 's/ $//')"
check_eq "8 concurrent requests: each module loaded once" "kta
ktb
ktc" "$(loaded | sort)"
check_eq "8 concurrent requests: each module inserted once, the others told EEXIST" "kta ok
ktb ok
ktc ok" "$(inserts | grep ' ok$' | sort)"
check_eq "8 concurrent requests: one whole line per kernel call in the shim's log" "" \
    "$(grep -Ev '^insert [a-z]+ (ok|EEXIST)$' "$shim_log")"
check_eq "8 concurrent requests: 8 audit lines in the kernel log" 8 "$(grep -c 'audit: kernel request .kta. from .* granted' "$root/dev/kmsg")"
check_eq "8 concurrent requests: the records name the kernel" "kernel kernel kernel" \
    "$(for m in kta ktb ktc; do record $m 'd["requester"]'; done | tr '\n' ' ' | sed 's/ $//')"

# ---- install commands, blacklist, built-in, no match ------------------------------------------------
fresh_root
run_cmd tool --json kttrue kt-black-alias ktbuiltin
check_eq "install /bin/true, blacklisted alias, built-in: exit 0" 0 "$RUN_STATUS"
check_eq "install /bin/true, blacklisted alias, built-in: statuses" \
    "kttrue already-loaded user inserted= modules=kttrue error=None
kt-black-alias blacklisted user inserted= modules=ktblack error=None
ktbuiltin builtin user inserted= modules=ktbuiltin error=None" "$(json "$results")"
check_eq "none of them reached the kernel" "" "$(inserts)"
check_fail "none of them was recorded" -- test -e "$root/run/kmod-tools/on-demand"
run_cmd tool ktblack
check_eq "the blacklist applies to aliases only: ktblack by name is inserted" "ktblack ok" "$(inserts)"
shim_reset
run_cmd tool ktinst
check_eq "install /bin/false: exit 1" 1 "$RUN_STATUS"
check_match "install /bin/false: libkmod's error" "^kmod-request: libkmod: Error running install command '/bin/false' for module ktinst" "$RUN_ERR"
check_eq "install /bin/false: nothing reached the kernel" "" "$(inserts)"
run_cmd tool nosuch
check_eq "no match: exit 1" 1 "$RUN_STATUS"
check_eq "no match: the error names the tree" "kmod-request: no module or alias matches 'nosuch' in $tree" "$RUN_ERR"
run_cmd tool -q nosuch
check_eq "no match with -q: exit 1" 1 "$RUN_STATUS"
check_eq "no match with -q: silent, as modprobe -q" "" "$RUN_ERR"
run_cmd tool nosuch ktfs
check_eq "a failing name does not stop the next one" "ktfs ok" "$(inserts | grep ktfs)"
check_eq "... and the run exits 1" 1 "$RUN_STATUS"

# ---- dry run -------------------------------------------------------------------------------------
fresh_root
run_cmd tool -n kta
check_eq "-n: exit 0" 0 "$RUN_STATUS"
check_eq "-n: a notice per module that would go in, in load order" "kmod-request: kta: would insert ktc
kmod-request: kta: would insert ktb
kmod-request: kta: would insert kta" "$RUN_ERR"
check_eq "-n: nothing reached the kernel" "" "$(shim_calls)"
check_eq "-n: nothing loaded" "" "$(loaded)"
check_fail "-n: nothing recorded" -- test -e "$root/run/kmod-tools/on-demand"
run_cmd tool -n --json kta
check_eq "-n --json: keys" "$result_keys" "$(json 'sorted(d[0])')"
check_eq "-n --json: the modules that would be inserted" "kta $dry_run_status user inserted=ktc,ktb,kta modules=kta error=None dry-run" \
    "$(json "$results")"
run_cmd tool -n -k kta
check_eq "-n -k: the notices go to the kernel log" "<5>kmod-request: kta: would insert ktc
<5>kmod-request: kta: would insert ktb
<5>kmod-request: kta: would insert kta" "$(cat "$root/dev/kmsg")"
check_no_match "-n -k: no audit line for a granted request" "audit" "$(cat "$root/dev/kmsg")"
run_cmd tool -q -n kta
check_eq "-n -q: the notices are silenced" "" "$RUN_ERR"

# ---- --json --------------------------------------------------------------------------------------
fresh_root
run_cmd tool --json fs-ktfs nosuch
check_eq "--json: one array, an object per name, in order" "fs-ktfs inserted user inserted=ktfs modules=ktfs error=None
nosuch failed user inserted= modules= error=no module or alias matches 'nosuch' in $tree" "$(json "$results")"
check_eq "--json: keys" "$result_keys" "$(json 'sorted(d[1])')"
check_eq "--json with a failure: exit 1" 1 "$RUN_STATUS"
run_cmd tool -k --json fs-ktfs
check_eq "--json of a kernel request: requester kernel" "fs-ktfs already-loaded kernel inserted= modules=ktfs error=None" \
    "$(json "$results")"

# ---- --show-depends ------------------------------------------------------------------------------
fresh_root
run_cmd tool --show-depends kta ktparm ktsoft kt-black-alias ktinst ktbuiltin
check_eq "--show-depends: exit 0" 0 "$RUN_STATUS"
check_eq "--show-depends: modprobe's lines, byte for byte" "insmod $ko/ktc.ko 
insmod $ko/ktb.ko 
insmod $ko/kta.ko 
insmod $ko/ktparm.ko level=3 mode=1 
insmod $ko/ktpre.ko 
insmod $ko/ktsoft.ko 
install /bin/false 
builtin ktbuiltin" "$RUN_OUT"
check_eq "--show-depends: nothing reached the kernel" "" "$(shim_calls)"
run_cmd tool kta
run_cmd tool --show-depends kta
check_eq "--show-depends lists loaded modules too" "insmod $ko/ktc.ko 
insmod $ko/ktb.ko 
insmod $ko/kta.ko " "$RUN_OUT"
run_cmd tool --show-depends ktfs nosuch
check_eq "--show-depends with a name that matches nothing: exit 1" 1 "$RUN_STATUS"
check_eq "... after the lines of the names before it" "insmod $ko/ktfs.ko " "$RUN_OUT"
run_cmd tool --show-depends --json ktfs
check_eq "--show-depends with --json: exit 2" 2 "$RUN_STATUS"
run_cmd tool --show-depends --explain ktfs
check_eq "--show-depends with --explain: exit 2" 2 "$RUN_STATUS"

# ---- --explain -----------------------------------------------------------------------------------
fresh_root
printf 'deny = ktdeny\n' >"$root/etc/kmod-tools/kmod-tools.conf"
run_cmd tool kta
run_cmd tool --explain kta net-pf-77 kttrue ktbuiltin nosuch
check_eq "--explain: exit 0, even for a name that matches nothing" 0 "$RUN_STATUS"
check_eq "--explain: modules, files, state, needs, install command, plan, policy" "policy mode: enforce (built-in default)
kta
  module kta: $ko/kta.ko, loaded, needs ktc ktb
  plan: kta (requested, already there)
  kernel requests: allowed (no rule matches)
net-pf-77
  module ktdeny: $ko/ktdeny.ko, not loaded
  plan: ktdeny (requested)
  kernel requests: denied by 'deny = ktdeny' ($root/etc/kmod-tools/kmod-tools.conf:1) matching ktdeny
kttrue
  module kttrue: $ko/kttrue.ko, not loaded, install command: /bin/true
  plan: kttrue (requested, install command)
  kernel requests: allowed (no rule matches)
ktbuiltin
  module ktbuiltin: built in
  plan: ktbuiltin (requested, already there)
  kernel requests: allowed (no rule matches)
nosuch
  resolves to nothing in $tree
  kernel requests: allowed (no rule matches)" "$RUN_OUT"
run_cmd tool --explain --json kta net-pf-77
check_eq "--explain --json: keys" "$explain_keys" "$(json 'sorted(d[0])')"
check_eq "--explain --json: module keys" "$explain_module_keys" "$(json 'sorted(d[0]["modules"][0])')"
check_eq "--explain --json: a decision for each requester class" '["container", "privileged", "unknown", "unprivileged"]' \
    "$(json 'sorted(d[0]["classes"])')"
check_eq "--explain --json: class keys" "$explain_class_keys" "$(json 'sorted(d[0]["classes"]["unknown"])')"
check_eq "--explain --json: member keys" "$explain_member_keys" \
    "$(json 'sorted(d[0]["classes"]["unknown"]["members"][0])')"
check_eq "--explain --json: content" "kta allowed=True modules=kta:True:ktc+ktb
net-pf-77 allowed=False modules=ktdeny:False:" "$(json "$explained")"
check_eq "--explain inserts nothing" "ktc ok
ktb ok
kta ok" "$(inserts)"

# ---- options from the command line and modprobe.d, and restored settings ------------------------------
# The kernel keeps the last value given: modprobe.d, then saved settings, then the command line.
save_settings() {
    mkdir -p "$root/var/lib/kmod-tools/settings"
    chmod 0700 "$root/var/lib/kmod-tools/settings"
    printf '# kmod-tools saved settings 1\n%s# end\n' "$2" >"$root/var/lib/kmod-tools/settings/$1.conf"
    chmod 0600 "$root/var/lib/kmod-tools/settings/$1.conf"
}
parameter() { cat "$root/sys/module/$1/parameters/$2"; }
fresh_root
run_cmd tool ktparm 'label="a b"' mode=5
check_eq "modprobe.d options, then the command line's, reach the kernel" 'ktparm ok level=3 mode=1 label="a b" mode=5' \
    "$(inserts_with_options)"
check_eq "the command line wins over modprobe.d" "5" "$(parameter ktparm mode)"
check_eq "a quoted value keeps its spaces" "a b" "$(parameter ktparm label)"
check_eq "parameters given on the command line are left out of parameters_at_load" '{"level": "3"}' \
    "$(record ktparm 'd["parameters_at_load"]')"

fresh_root
save_settings ktparm 'level=7
label=saved
'
run_cmd tool -v ktparm label=cmd
check_eq "restore: exit 0" 0 "$RUN_STATUS"
check_eq "restore: modprobe.d, saved, command line, in that order" 'ktparm ok level=3 mode=1 label=saved level=7 label=cmd' \
    "$(inserts_with_options)"
check_eq "restore: saved settings win over modprobe.d" "7" "$(parameter ktparm level)"
check_eq "restore: the command line wins over saved settings" "cmd" "$(parameter ktparm label)"
check_eq "restore: modprobe.d's other options stay" "1" "$(parameter ktparm mode)"
check_match "restore: -v logs what is restored" "^kmod-request: ktparm: restoring label=saved level=7$" "$RUN_ERR"
check_eq "restore: restored and command-line parameters are left out of parameters_at_load" '{"mode": "1"}' \
    "$(record ktparm 'd["parameters_at_load"]')"
check "restore: the settings file is kept" -- test -f "$root/var/lib/kmod-tools/settings/ktparm.conf"

fresh_root
save_settings ktparm 'level=7
'
run_cmd tool --no-restore ktparm
check_eq "--no-restore: modprobe.d only (libkmod ends its options with a space)" "ktparm ok level=3 mode=1 " \
    "$(inserts_with_options)"
check_eq "--no-restore: the module starts with modprobe.d's value" "3" "$(parameter ktparm level)"
check "--no-restore: the saved settings are kept for the next load" -- test -f "$root/var/lib/kmod-tools/settings/ktparm.conf"

fresh_root
save_settings ktc 'debug=2
'
run_cmd tool kta
check_eq "a dependency with saved settings goes in first, on its own, with them" "ktc ok debug=2
ktb ok
kta ok" "$(inserts_with_options)"
check_eq "the dependency starts with its saved value" "2" "$(parameter ktc debug)"

fresh_root
save_settings ktparm 'bogus=1
label=a"b
level=8
'
run_cmd tool ktparm
check_eq "saved settings that cannot be passed: the module loads all the same" "ktparm ok level=3 mode=1 level=8" \
    "$(inserts_with_options)"
check_match "a saved parameter the module does not declare is dropped with a warning" \
    "^kmod-request: warning: dropping saved setting bogus of ktparm: the module has no such parameter$" "$RUN_ERR"
check_match "a saved value with a double quote is dropped with a warning" \
    "^kmod-request: warning: dropping saved setting label of ktparm: the value contains a double quote" "$RUN_ERR"
check_eq "dropped settings are no failure: exit 0" 0 "$RUN_STATUS"
fresh_root
save_settings ktparm 'bogus=1
'
as_kernel_helper -q -- ktparm
# kmod-request(8) says both that such warnings still reach the kernel log (-q) and that for the
# kernel's requests settings are "dropped without a word" (Saved settings): the first is tested.
check_eq "a kernel request with -q: the warning still reaches the kernel log" \
    "<4>kmod-request: dropping saved setting bogus of ktparm: the module has no such parameter" \
    "$(grep -v audit "$root/dev/kmsg")"

fresh_root
save_settings ktparm 'level=8
'
printf 'level=8\n' >"$root/var/lib/kmod-tools/settings/ktparm.conf"
run_cmd tool ktparm
check_match "a corrupt settings file is ignored with a warning" \
    "^kmod-request: warning: corrupt settings .*ktparm.conf: missing header; loading ktparm without saved settings$" "$RUN_ERR"
check_eq "... and the module loads with modprobe.d's options" "ktparm ok level=3 mode=1 " \
    "$(inserts_with_options)"
fresh_root
save_settings ktparm 'level=8
'
chmod 0620 "$root/var/lib/kmod-tools/settings/ktparm.conf"
run_cmd tool ktparm
check_match "a group-writable settings file is ignored with a warning" "warning: .*ktparm.conf.*; loading ktparm without saved settings$" "$RUN_ERR"
check_eq "... and its values are not passed" "3" "$(parameter ktparm level)"
fresh_root
save_settings ktparm 'level=8
'
run_cmd tool -n -v ktparm
check_match "-n -v shows what would be restored" "^kmod-request: ktparm: restoring level=8$" "$RUN_ERR"
check_eq "-n with saved settings: nothing reached the kernel" "" "$(shim_calls)"

# ---- the autoload policy ----------------------------------------------------------------------------
fresh_root
printf 'deny = ktdeny kt[n]*\nallow = net-pf-78\n' >"$root/etc/kmod-tools/kmod-tools.conf"
conf=$root/etc/kmod-tools/kmod-tools.conf
as_kernel_helper -q -- net-pf-77
RUN_STATUS=$?
check_eq "a denied kernel request: exit 1" 1 "$RUN_STATUS"
check_eq "a denied kernel request: the error and the audit line in the kernel log" \
    "<3>kmod-request: not loading 'net-pf-77': denied by 'deny = ktdeny' ($conf:1) matching ktdeny
<5>kmod-request: audit: kernel request 'net-pf-77' $unknown_requester denied by 'deny = ktdeny' ($conf:1) matching ktdeny" \
    "$(sort "$root/dev/kmsg")"
check_eq "a denied kernel request reaches no kernel call" "" "$(inserts)"
check_fail "a denied kernel request records nothing" -- test -e "$root/run/kmod-tools/on-demand"
: >"$root/dev/kmsg"
run_cmd tool -k -q -- net-pf-78
check_eq "allow wins over deny: exit 0" 0 "$RUN_STATUS"
check_eq "allow wins over deny: audited as granted" \
    "<5>kmod-request: audit: kernel request 'net-pf-78' $unknown_requester granted: inserted ktnet" "$(cat "$root/dev/kmsg")"
check_eq "allow wins over deny: inserted" "ktnet ok" "$(inserts)"
: >"$root/dev/kmsg"
shim_reset
run_cmd tool net-pf-77
check_eq "the policy does not apply to requests by hand: exit 0" 0 "$RUN_STATUS"
check_eq "the policy does not apply to requests by hand: inserted" "ktdeny ok" "$(inserts)"
check_eq "requests by hand are not audited" "" "$(cat "$root/dev/kmsg")"
run_cmd tool -n -k --json net-pf-77 ktfs
check_eq "-n -k --json: the denial and the grant" "net-pf-77 denied kernel inserted= modules=ktdeny error=denied by 'deny = ktdeny' ($conf:1) matching ktdeny dry-run
ktfs $dry_run_status kernel inserted=ktfs modules=ktfs error=None dry-run" "$(json "$results")"
check_eq "-n -k with a denial: exit 1" 1 "$RUN_STATUS"
check_no_match "-n -k: no audit line in a dry run, not even for a denial" "audit" "$(cat "$root/dev/kmsg")"
: >"$root/dev/kmsg"
printf 'deny = ktdeny\nfrobnicate = 1\n' >"$conf"
shim_reset
run_cmd tool -k -q ktfs kttrue
check_eq "a kernel request with a bad configuration: exit 1" 1 "$RUN_STATUS"
check_eq "a bad configuration refuses every kernel request, audited per name" \
    "<5>kmod-request: audit: kernel request 'ktfs' $unknown_requester refused: configuration error: $conf:2: unknown key 'frobnicate'
<5>kmod-request: audit: kernel request 'kttrue' $unknown_requester refused: configuration error: $conf:2: unknown key 'frobnicate'
<3>kmod-request: $conf:2: unknown key 'frobnicate'" "$(cat "$root/dev/kmsg")"
check_eq "a bad configuration: nothing reached the kernel" "" "$(inserts)"
run_cmd tool ktfs
check_eq "a bad configuration does not affect requests by hand" "ktfs ok" "$(inserts)"
run_cmd tool --explain ktfs
check_eq "--explain with a bad configuration: exit 1" 1 "$RUN_STATUS"

# ---- requester classes, the whole plan, modes, the history ---------------------------------------
fresh_root
conf=$root/etc/kmod-tools/kmod-tools.conf
history=$root/var/lib/kmod-tools/request-history
printf 'deny unless privileged = * !fs-*\n' >"$conf"
run_cmd tool --explain --as unprivileged fs-ktfs kta
check_eq "--explain --as: exit 0" 0 "$RUN_STATUS"
check_eq "--explain --as: the plan member by member, with the rule that decides each" "policy mode: enforce (built-in default)
fs-ktfs
  module ktfs: $ko/ktfs.ko, not loaded
  plan: ktfs (requested)
  kernel requests from unprivileged tasks: allowed by the exception of 'deny unless privileged = * !fs-*' ($conf:1) matching fs-ktfs
    ktfs (requested): allowed by the exception of 'deny unless privileged = * !fs-*' ($conf:1) matching fs-ktfs
kta
  module kta: $ko/kta.ko, not loaded, needs ktc ktb
  plan: kta (requested), ktc (dependency of kta), ktb (dependency of kta)
  kernel requests from unprivileged tasks: denied by 'deny unless privileged = * !fs-*' ($conf:1) matching kta
    kta (requested): denied by 'deny unless privileged = * !fs-*' ($conf:1) matching kta
    ktc (dependency of kta): denied by 'deny unless privileged = * !fs-*' ($conf:1) matching ktc
    ktb (dependency of kta): denied by 'deny unless privileged = * !fs-*' ($conf:1) matching ktb" "$RUN_OUT"
run_cmd tool --explain kta
check_eq "--explain without --as: a line per class when the class matters" "policy mode: enforce (built-in default)
kta
  module kta: $ko/kta.ko, not loaded, needs ktc ktb
  plan: kta (requested), ktc (dependency of kta), ktb (dependency of kta)
  kernel requests from privileged tasks: allowed (no rule matches)
  kernel requests from unprivileged tasks: denied by 'deny unless privileged = * !fs-*' ($conf:1) matching kta
  kernel requests from container tasks: denied by 'deny unless privileged = * !fs-*' ($conf:1) matching kta
  kernel requests from unknown tasks: denied by 'deny unless privileged = * !fs-*' ($conf:1) matching kta" "$RUN_OUT"
run_cmd tool -n -k --as privileged --json kta
check_eq "-n -k --as privileged: judged as privileged, would insert" "kta $dry_run_status kernel inserted=ktc,ktb,kta modules=kta error=None dry-run" \
    "$(json "$results")"
check_eq "-n -k --as privileged: the class in --json" privileged "$(json 'd[0]["requester_class"]')"
run_cmd tool -n -k --as container kta
check_eq "-n -k --as container: denied, exit 1" 1 "$RUN_STATUS"
run_cmd tool --as root --explain kta
check_eq "--as with a class that does not exist: exit 2" 2 "$RUN_STATUS"
check_eq "--as with a class that does not exist: the message" \
    "kmod-request: bad requester class 'root': privileged, unprivileged, container or unknown" \
    "$(printf '%s\n' "$RUN_ERR" | head -n 1)"
run_cmd tool -k --as privileged kta
check_eq "--as for a real request: exit 2 (who asked is found out, never claimed)" 2 "$RUN_STATUS"
check_eq "--as for a real request: nothing reached the kernel" "" "$(inserts)"
run_cmd tool -n --as privileged kta
check_eq "--as for a dry run by hand (the policy does not apply): exit 2" 2 "$RUN_STATUS"
# Unattributed (no tracing on a fake root): judged as unknown, the strictest class.
as_kernel_helper -q -- fs-ktfs
check_eq "an unknown requester: an exception still applies" "ktfs ok" "$(inserts)"
shim_reset
: >"$root/dev/kmsg"
as_kernel_helper -q -- kta
RUN_STATUS=$?
check_eq "an unknown requester under 'deny unless privileged': exit 1" 1 "$RUN_STATUS"
check_eq "an unknown requester under 'deny unless privileged': nothing inserted" "" "$(inserts)"
check_match "the audit line names the requester and the rule" \
    "audit: kernel request 'kta' from an unknown requester \(tracing not set up: .*\) denied by 'deny unless privileged = \* !fs-\*' \($conf:1\) matching kta\$" \
    "$(cat "$root/dev/kmsg")"

# A denied dependency, a denied softdep: the whole request is refused, nothing goes in.
fresh_root
printf 'deny = ktc ktpre\n' >"$conf"
shim_reset
as_kernel_helper -q -- kta
RUN_STATUS=$?
check_eq "a denied dependency: exit 1" 1 "$RUN_STATUS"
check_eq "a denied dependency: nothing inserted, not even the allowed members" "" "$(inserts)"
check_match "a denied dependency: the audit line names the member and the rule" \
    "kernel request 'kta' from .* denied: ktc \(dependency of kta\) denied by 'deny = ktc' \($conf:1\) matching ktc\$" \
    "$(grep audit "$root/dev/kmsg")"
: >"$root/dev/kmsg"
as_kernel_helper -q -- ktsoft
RUN_STATUS=$?
check_eq "a denied softdep: exit 1" 1 "$RUN_STATUS"
check_eq "a denied softdep: nothing inserted" "" "$(inserts)"
check_match "a denied softdep: the audit line names it" \
    "kernel request 'ktsoft' from .* denied: ktpre \(softdep of ktsoft\) denied by 'deny = ktpre' \($conf:1\) matching ktpre\$" \
    "$(grep audit "$root/dev/kmsg")"
check_eq "both denials are in the request history" "kta denied unknown
ktsoft denied unknown" "$(tr '\036' '\n' <"$history" | awk -F'\t' 'NF > 3 { print $5, $3, $4 }')"
check_eq "the history is root's alone" 600 "$(stat -c %a "$history")"

# Warn mode loads and says what enforce would do; learn mode loads and only records it.
fresh_root
printf 'deny = ktdeny\npolicy_mode = warn\n' >"$conf"
as_kernel_helper -q -- net-pf-77
RUN_STATUS=$?
check_eq "warn mode: exit 0" 0 "$RUN_STATUS"
check_eq "warn mode: inserted" "ktdeny ok" "$(inserts)"
check_match "warn mode: the audit line says it would deny" \
    "kernel request 'net-pf-77' from .* granted: inserted ktdeny \(policy_mode = warn: would be denied by 'deny = ktdeny' \($conf:1\) matching ktdeny\)\$" \
    "$(grep audit "$root/dev/kmsg")"
run_cmd tool --explain net-pf-77
check_match "--explain shows the mode" "^policy mode: warn \($conf:2\)" "$RUN_OUT"
fresh_root
printf 'deny = ktdeny\npolicy_mode = learn\n' >"$conf"
as_kernel_helper -q -- net-pf-77
check_eq "learn mode: inserted" "ktdeny ok" "$(inserts)"
check_match "learn mode: the audit line says only what happened" \
    "kernel request 'net-pf-77' from .* granted: inserted ktdeny\$" "$(grep audit "$root/dev/kmsg")"
check_eq "learn mode: the history says enforce would deny" "net-pf-77 would-deny unknown" \
    "$(tr '\036' '\n' <"$history" | awk -F'\t' 'NF > 3 { print $5, $3, $4 }')"

# ---- learn, suggest, enforce ------------------------------------------------------------------------
fresh_root
printf 'deny = ktdeny\npolicy_mode = learn\n' >"$conf"
for name in fs-ktfs ktsoft net-pf-77 no-such-alias 'fs-*'; do as_kernel_helper -q -- "$name"; done
run_cmd tool --suggest-policy
check_eq "--suggest-policy: exit 0" 0 "$RUN_STATUS"
printf '%s\n' "$RUN_OUT" >"$root/suggested"
check_eq "--suggest-policy: deny the rest to all but privileged tasks, allow what was needed, enforce" \
    "deny unless privileged = *
allow for unknown = fs-ktfs ktpre ktsoft net-pf-77
policy_mode = enforce" "$(grep -v '^#' "$root/suggested" | grep .)"
check_match "--suggest-policy: says where it comes from" \
    "^# kmod-tools.conf drop-in suggested by kmod-request --suggest-policy from 5 kernel requests in '/var/lib/kmod-tools/request-history'" \
    "$RUN_OUT"
check_match "--suggest-policy: names that resolve to nothing (or are patterns) are left out, and said so" \
    "^# Resolving to nothing \(or not plain names\), left out: 'fs-\*' from unknown 'no-such-alias' from unknown\$" \
    "$RUN_OUT"
run_cmd tool --suggest-policy --diff
check_eq "--suggest-policy --diff: learn mode would deny net-pf-77 today; the suggestion allows it" \
    "'net-pf-77' from unknown tasks: today (policy_mode = learn) denied by 'deny = ktdeny' ($conf:1) matching ktdeny; suggested: allowed by 'allow for unknown = net-pf-77' (the suggestion:9) matching net-pf-77" \
    "$RUN_OUT"
run_cmd tool --suggest-policy --modprobe
check_eq "--suggest-policy --modprobe: exit 0" 0 "$RUN_STATUS"
check_match "--suggest-policy --modprobe: a module no request needed is blacklisted" "^blacklist kta\$" "$RUN_OUT"
check_match "--suggest-policy --modprobe: and its install command is /bin/false" "^install kta /bin/false\$" "$RUN_OUT"
check_no_match "--suggest-policy --modprobe: a needed module is not" "ktsoft|ktpre|ktfs " "$RUN_OUT"
run_cmd tool --suggest-policy --since 0
check_match "--suggest-policy --since 0: nothing that recent" "from 0 kernel requests" "$RUN_OUT"
run_cmd tool --suggest-policy --since soon
check_eq "--since with a bad duration: exit 2" 2 "$RUN_STATUS"
run_cmd tool --since 1h kta
check_eq "--since without --suggest-policy: exit 2" 2 "$RUN_STATUS"

# Applied (on a machine where none of it is loaded yet): what was seen loads, a new name is denied.
cp "$root/suggested" "$_fk_work/suggested"
cp "$history" "$_fk_work/history"
fresh_root
mkdir -p "$root/etc/kmod-tools/kmod-tools.conf.d" "$root/var/lib/kmod-tools"
cp "$_fk_work/suggested" "$root/etc/kmod-tools/kmod-tools.conf.d/50-suggested.conf"
cp "$_fk_work/history" "$history"
shim_reset
: >"$root/dev/kmsg"
for name in fs-ktfs ktsoft net-pf-77; do as_kernel_helper -q -- "$name"; done
check_eq "enforcing the suggestion: everything seen before loads" "ktfs ok
ktpre ok
ktsoft ok
ktdeny ok" "$(inserts)"
shim_reset
as_kernel_helper -q -- net-pf-78
RUN_STATUS=$?
check_eq "enforcing the suggestion: a new name is denied" "1 " "$RUN_STATUS $(inserts)"
run_cmd tool --suggest-policy --diff
check_eq "--diff once applied: the suggestion agrees with the policy in force" \
    "# The suggestion decides every request seen as the policy in force does." "$RUN_OUT"

# A history that cannot be trusted is an error; a torn line is skipped with a warning.
printf '\036torn' >>"$history"
run_cmd tool --suggest-policy
check_eq "a torn history line: still exit 0" 0 "$RUN_STATUS"
check_match "a torn history line: warned about" "skipped 1 torn or corrupt lines of the request history" "$RUN_ERR"
mv "$history" "$history.real"
ln -s "$history.real" "$history"
run_cmd tool --suggest-policy
check_eq "a symlinked history: exit 1" 1 "$RUN_STATUS"
check_match "a symlinked history: the message names it" "request-history" "$RUN_ERR"

# A history that cannot be written never costs a request: it is served, and the warning says why.
fresh_root
mkdir -p "$root/var/lib/kmod-tools"
: >"$root/elsewhere"
ln -s "$root/elsewhere" "$history"
as_kernel_helper -q -- fs-ktfs
RUN_STATUS=$?
check_eq "a symlinked history: the request is still served" "0 ktfs ok" "$RUN_STATUS $(inserts)"
check_match "a symlinked history: a warning names it" "^<4>kmod-request: cannot add to the request history: .*request-history" \
    "$(cat "$root/dev/kmsg")"
check_eq "a symlinked history: nothing written through the link" "" "$(cat "$root/elsewhere")"

# ---- the kernel refuses -----------------------------------------------------------------------------
refusal() {
    local error="$1" name="$2"
    shift 2
    fresh_root
    KMOD_TOOLS_SHIM_FAIL="insert:$name:$error" run_cmd tool "$@"
}
refusal EEXIST ktfs --json fs-ktfs
check_eq "EEXIST (a concurrent loader won): exit 0" 0 "$RUN_STATUS"
check_eq "EEXIST: the module is in, and counts as inserted by this request" \
    "fs-ktfs inserted user inserted=ktfs modules=ktfs error=None" "$(json "$results")"
check_eq "EEXIST: recorded" "fs-ktfs" "$(record ktfs 'd["requested"]')"
refusal EPERM ktfs fs-ktfs
check_eq "EPERM: exit 1" 1 "$RUN_STATUS"
check_eq "EPERM: the message" "kmod-request: could not insert 'ktfs': Operation not permitted (loading modules needs CAP_SYS_MODULE)" "$RUN_ERR"
check_fail "EPERM: nothing recorded" -- test -e "$root/run/kmod-tools/on-demand/ktfs"
refusal ENOEXEC ktfs fs-ktfs
check_eq "ENOEXEC: exit 1" 1 "$RUN_STATUS"
check_eq "ENOEXEC: the message" "kmod-request: could not insert 'ktfs': Exec format error (bad vermagic or module format? see dmesg)" "$RUN_ERR"
refusal EBUSY ktfs fs-ktfs
check_eq "EBUSY: exit 1" 1 "$RUN_STATUS"
check_eq "EBUSY: the message" "kmod-request: could not insert 'ktfs': Device or resource busy" "$RUN_ERR"
refusal ENOENT ktfs fs-ktfs
check_eq "ENOENT: the message" "kmod-request: could not insert 'ktfs': Unknown symbol in module, or unknown parameter (see dmesg)" "$RUN_ERR"
refusal EPERM kta --json kta
check_eq "a failure after dependencies went in: exit 1" 1 "$RUN_STATUS"
check_eq "... the error names the module that failed" "kta failed user inserted=ktc,ktb modules=kta error=could not insert 'kta': Operation not permitted (loading modules needs CAP_SYS_MODULE)" \
    "$(json "$results")"
check_eq "... the dependencies inserted before it stay loaded and are recorded" "ktb
ktc" "$(ls "$root/run/kmod-tools/on-demand")"
refusal 'ENOEXEC' '*' kta
check_eq "the first module refused stops the request" "ktc ENOEXEC" "$(inserts)"
check_eq "... and is the one named" "kmod-request: could not insert 'ktc': Exec format error (bad vermagic or module format? see dmesg)" "$RUN_ERR"
fresh_root
echo 1 >"$root/proc/sys/kernel/modules_disabled"
run_cmd tool fs-ktfs
check_eq "modules_disabled: the kernel's EPERM explained" "kmod-request: could not insert 'ktfs': module loading is disabled (kernel.modules_disabled=1)" "$RUN_ERR"

# ---- other module trees, a damaged module ---------------------------------------------------------
fresh_root
run_cmd tool -S "$release" --show-depends ktfs
check_eq "-S alone under KMOD_TOOLS_ROOT: the tree under the root" "insmod $ko/ktfs.ko " "$RUN_OUT"
run_cmd tool -S 6.1.0-other ktfs
check_eq "-S with a release that has no tree: exit 1" 1 "$RUN_STATUS"
check_eq "... the error names the tree" "kmod-request: no module or alias matches 'ktfs' in $root/lib/modules/6.1.0-other" "$RUN_ERR"
mkdir -p "$_fk_work/other-root"
cp -a "$root/lib" "$_fk_work/other-root/"
run_cmd tool -d "$_fk_work/other-root" -v ktfs
check_eq "-d DIR: the module file comes from DIR/lib/modules/VERSION" \
    "insmod $_fk_work/other-root/lib/modules/$release/kernel/drivers/kt/ktfs.ko " \
    "$(tool -d "$_fk_work/other-root" --show-depends ktfs)"
check_eq "-d DIR: inserted into the (fake) running kernel" "ktfs ok" "$(inserts)"
fresh_root
printf 'not an ELF file\n' >"$ko/ktfs.ko"
run_cmd tool fs-ktfs
check_eq "a damaged module file: the kernel says ENOEXEC, exit 1" 1 "$RUN_STATUS"
check_eq "a damaged module file: the message" "kmod-request: could not insert 'ktfs': Exec format error (bad vermagic or module format? see dmesg)" "$RUN_ERR"
check_eq "a damaged module file: what the kernel was given" "insert ? ENOEXEC" "$(shim_calls)"
run_cmd tool --version
check_eq "--version" "0 kmod-request" "$RUN_STATUS $(printf '%s' "$RUN_OUT" | cut -d' ' -f1)"

# ---- names, options and usage errors -------------------------------------------------------------
fresh_root
bad_name() {
    run_cmd tool ktfs -- "$2"
    check_eq "bad name ($1): exit 2" 2 "$RUN_STATUS"
}
bad_name empty ''
bad_name "starting with -" -x
bad_name "with a slash" a/b
bad_name "with a space" 'a b'
bad_name "with a tab" "$(printf 'a\tb')"
bad_name "with an escape" "$(printf 'a\033b')"
check_match "a bad name: the message quotes it" "^kmod-request: bad name 'a\\\\x1bb': " "$RUN_ERR"
bad_name "of 1025 bytes" "$(printf '%01025d' 0)"
check_eq "bad names: nothing reached the kernel, not even the good name before them" "" "$(shim_calls)"
run_cmd tool --frobnicate ktfs
check_eq "unknown option: exit 2" 2 "$RUN_STATUS"
check_match "unknown option: says which" "frobnicate" "$RUN_ERR"
run_cmd tool level=1 ktparm
check_eq "a parameter before any name: exit 2" 2 "$RUN_STATUS"
check_eq "a parameter before any name: the message, and where to look" "kmod-request: option 'level=1' comes before any module name
Try 'kmod-request --help'." "$RUN_ERR"
run_cmd tool
check_eq "no name: exit 2" 2 "$RUN_STATUS"
run_cmd tool -S .. ktfs
check_eq "-S ..: exit 2" 2 "$RUN_STATUS"
RUN_STATUS=0
KMOD_TOOLS_ROOT=relative "$tool_under_test" ktfs >/dev/null 2>&1 </dev/null || RUN_STATUS=$?
check_eq "a relative KMOD_TOOLS_ROOT: exit 2" 2 "$RUN_STATUS"
check_eq "usage errors reached no kernel call" "" "$(shim_calls)"
RUN_STATUS=0
printf 'ktfs\n\n  \nkta\r\n' | tool - >"$_fk_work/out" 2>&1 || RUN_STATUS=$?
check_eq "names on standard input: exit 0" 0 "$RUN_STATUS"
check_eq "names on standard input: blank lines skipped, CR dropped" "ktfs ok
ktc ok
ktb ok
kta ok" "$(inserts)"

# ---- killed between insertion and record: the intent written first survives ----------------------
fresh_root
pending=$root/run/kmod-tools/pending
RUN_STATUS=0
KMOD_TOOLS_SHIM_KILL_AFTER_INSERT=ktfs as_kernel_helper -q -- fs-ktfs >/dev/null 2>&1 </dev/null || RUN_STATUS=$?
check_eq "a helper killed once ktfs is in: SIGKILL" 137 "$RUN_STATUS"
check_eq "killed: ktfs is loaded" "ktfs" "$(loaded)"
check_fail "killed: ktfs has no record yet" -- test -e "$root/run/kmod-tools/on-demand/ktfs"
killed_intent=$(ls "$pending" 2>/dev/null)
check_eq "killed: its intent names ktfs, requested by the kernel as fs-ktfs, not loaded before" \
    "$killed_intent kernel ktfs:fs-ktfs:" \
    "$(json_file "$pending/$killed_intent" '"%d %s " % (d["pid"], d["requester"]) + " ".join(
        m["module"] + ":" + m["requested"] + ":" + m["instance_before"] for m in d["modules"])')"
run_cmd as_kernel_helper -q -- fs-ktfs
check_eq "a request that finds ktfs loaded: exit 0" 0 "$RUN_STATUS"
check "... leaves the intent for a run that writes state" -- test -e "$pending/$killed_intent"
run_cmd as_kernel_helper -q -- ktparm
check_eq "the next request that inserts something: exit 0" 0 "$RUN_STATUS"
check_eq "... records ktfs for the killed helper" "fs-ktfs kernel $(module_instance ktfs)" \
    "$(record ktfs '"%s %s %s" % (d["requested"], d["requester"], d["instance"])')"
check_eq "... from the intent's time, its parameters as loaded unknown" "1 none" \
    "$(record ktfs '"%d %s" % (d["loaded_at"] > 0, d.get("parameters_at_load", "none"))')"
check_eq "... and records its own" "ktparm" "$(record ktparm 'd["requested"]')"
check_eq "no intent is left" "" "$(ls -A "$pending")"
check_match "the kernel log says what was recorded" \
    "^<4>kmod-request: recorded ktfs, loaded on demand by process $killed_intent which ended before recording them$" \
    "$(cat "$root/dev/kmsg")"

check_no_host_access
check_asan_with_shim
tap_done
