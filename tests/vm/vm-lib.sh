# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest-side TAP helpers for kmod-tools VM scenarios; a scenario starts with `. /vm-lib.sh`.
# shellcheck shell=dash disable=SC2034 # busybox ash has `local` like dash; RUN_* are for the caller
#
# Runs under busybox sh (ash) inside the VM, so it sticks to POSIX sh plus `local`.
# Remember that busybox sh runs its own applets (modprobe, rmmod, lsmod, insmod, modinfo, depmod)
# before searching PATH: call kmod's tools by full path, e.g. /sbin/modprobe.
#
# Checks (each prints `ok N - DESC` or `not ok N - DESC` plus `# ` diagnostics, returns 0 or 1):
#   check DESC -- CMD...             CMD exits 0
#   check_fail DESC -- CMD...        CMD exits non-zero
#   check_exit DESC STATUS -- CMD... CMD exits with exactly STATUS
#   check_eq DESC EXPECTED ACTUAL    strings are equal
#   check_match DESC REGEX TEXT      some line of TEXT matches the extended regex (grep -E)
#   check_no_match DESC REGEX TEXT   no line of TEXT matches
#   skip DESC REASON                 `ok N - DESC # SKIP REASON`
# Other helpers:
#   run_cmd CMD...       runs CMD, sets RUN_STATUS, RUN_OUT (stdout) and RUN_ERR (stderr)
#   as_nobody CMD...     runs CMD as user nobody (uid/gid 65534) through busybox su
#   module_loaded NAME   true if NAME is listed in /proc/modules
#   diag TEXT...         prints each TEXT (and each line in it) as a `# ` line
#   require_file PATH    skips the whole scenario (plan 1..0) if PATH is missing; call before checks
#   bail_out REASON      prints `Bail out! REASON` and exits 1
#   tap_done             prints the plan `1..N`; returns 1 if any check failed (end scenarios with it)

_tap_count=0
_tap_failures=0
_tap_tmp=$(mktemp -d /tmp/vm-lib.XXXXXX) || {
    echo 'Bail out! vm-lib.sh: cannot create a temporary directory'
    exit 1
}

# A TAP description must stay on one line, and a '#' in it would start a directive (SKIP/TODO).
_tap_desc() {
    printf '%s' "$*" | tr '\r\n#' '  _'
}

# Each argument, and each line in it, becomes one `# ` line; awk also ends an unterminated line.
diag() {
    printf '%s\n' "$@" | tr -d '\r' | awk '{ print "# " $0 }'
}

# Shows at most 20 lines of a captured output file, indented under a diagnostic header.
_tap_diag_file() {
    local label="$1" file="$2"
    [ -s "$file" ] || { diag "$label: (empty)"; return 0; }
    diag "$label:"
    tr -d '\r' <"$file" | awk 'NR <= 20 { print "#   " $0 } END { if (NR > 20) print "#   ... (" NR - 20 " more lines)" }'
}

_tap_ok() {
    _tap_count=$((_tap_count + 1))
    printf 'ok %d - %s\n' "$_tap_count" "$(_tap_desc "$1")"
    return 0
}

_tap_not_ok() {
    _tap_count=$((_tap_count + 1))
    _tap_failures=$((_tap_failures + 1))
    printf 'not ok %d - %s\n' "$_tap_count" "$(_tap_desc "$1")"
    return 1
}

# Runs "$@" with stdout and stderr captured together; sets _tap_status.
_tap_exec() {
    _tap_status=0
    "$@" >"$_tap_tmp/out" 2>&1 </dev/null || _tap_status=$?
}

_tap_cmd_diag() {
    diag "command: $*"
    diag "exit status: $_tap_status"
    _tap_diag_file output "$_tap_tmp/out"
}

# Shared argument parsing: DESC [--] CMD...; a missing command is a failed check, not a crash.
_tap_need_cmd() {
    if [ "$1" -eq 0 ]; then
        _tap_not_ok "$2"
        diag "usage error in scenario: no command given to $3"
        return 1
    fi
    return 0
}

check() {
    local desc="${1-}"
    [ $# -gt 0 ] && shift
    [ "${1-}" = -- ] && shift
    _tap_need_cmd $# "$desc" check || return 1
    _tap_exec "$@"
    if [ "$_tap_status" -eq 0 ]; then
        _tap_ok "$desc"
    else
        _tap_not_ok "$desc"
        diag "expected: exit status 0"
        _tap_cmd_diag "$@"
        return 1
    fi
}

check_fail() {
    local desc="${1-}"
    [ $# -gt 0 ] && shift
    [ "${1-}" = -- ] && shift
    _tap_need_cmd $# "$desc" check_fail || return 1
    _tap_exec "$@"
    if [ "$_tap_status" -ne 0 ]; then
        _tap_ok "$desc"
    else
        _tap_not_ok "$desc"
        diag "expected: non-zero exit status"
        _tap_cmd_diag "$@"
        return 1
    fi
}

check_exit() {
    local desc="${1-}" expected="${2-}"
    # A failing `shift 2` would abort the whole scenario under ash, so never over-shift.
    if [ $# -ge 2 ]; then shift 2; else shift $#; fi
    [ "${1-}" = -- ] && shift
    _tap_need_cmd $# "$desc" check_exit || return 1
    _tap_exec "$@"
    if [ "$_tap_status" = "$expected" ]; then
        _tap_ok "$desc"
    else
        _tap_not_ok "$desc"
        diag "expected: exit status $expected"
        _tap_cmd_diag "$@"
        return 1
    fi
}

check_eq() {
    local desc="${1-}" expected="${2-}" actual="${3-}"
    if [ "$expected" = "$actual" ]; then
        _tap_ok "$desc"
    else
        _tap_not_ok "$desc"
        diag "expected: '$expected'"
        diag "actual:   '$actual'"
        return 1
    fi
}

check_match() {
    local desc="${1-}" regex="${2-}" text="${3-}"
    if printf '%s\n' "$text" | grep -Eq -- "$regex"; then
        _tap_ok "$desc"
    else
        _tap_not_ok "$desc"
        diag "regex: $regex"
        printf '%s\n' "$text" >"$_tap_tmp/text"
        _tap_diag_file "text" "$_tap_tmp/text"
        return 1
    fi
}

check_no_match() {
    local desc="${1-}" regex="${2-}" text="${3-}"
    if printf '%s\n' "$text" | grep -Eq -- "$regex"; then
        _tap_not_ok "$desc"
        diag "regex (must not match): $regex"
        printf '%s\n' "$text" >"$_tap_tmp/text"
        _tap_diag_file "text" "$_tap_tmp/text"
        return 1
    else
        _tap_ok "$desc"
    fi
}

skip() {
    _tap_count=$((_tap_count + 1))
    printf 'ok %d - %s # SKIP %s\n' "$_tap_count" "$(_tap_desc "$1")" "$(_tap_desc "${2-}")"
}

# Keeps stdout and stderr apart so a scenario can check both, e.g. that an error went to stderr.
run_cmd() {
    RUN_STATUS=0
    "$@" >"$_tap_tmp/run.out" 2>"$_tap_tmp/run.err" </dev/null || RUN_STATUS=$?
    RUN_OUT=$(cat "$_tap_tmp/run.out")
    RUN_ERR=$(cat "$_tap_tmp/run.err")
}

# busybox-static has no chpst and its setpriv cannot change uids, but its su works for root
# without a password: -s overrides nobody's nologin shell, `--` stops su's option parsing (which
# would otherwise grab options such as the -u of `id -u`), and the words after USER become
# "$0 $@" of the -c script, so arguments keep their quoting. PATH is reset for determinism.
as_nobody() {
    su -s /bin/sh -c 'PATH=/usr/sbin:/usr/bin:/sbin:/bin; exec "$@"' -- nobody as_nobody "$@"
}

module_loaded() {
    grep -q "^$1 " /proc/modules
}

require_file() {
    if [ ! -e "$1" ]; then
        if [ "$_tap_count" -eq 0 ]; then
            printf '1..0 # SKIP %s\n' "$(_tap_desc "$1 is not in the VM (not built yet?)")"
            rm -rf "$_tap_tmp"
            exit 0
        fi
        bail_out "$1 is missing"
    fi
}

bail_out() {
    printf 'Bail out! %s\n' "$(_tap_desc "$*")"
    rm -rf "$_tap_tmp"
    exit 1
}

tap_done() {
    printf '1..%d\n' "$_tap_count"
    rm -rf "$_tap_tmp"
    [ "$_tap_failures" -eq 0 ]
}
