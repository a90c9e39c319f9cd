#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Requester attribution on the real kernel: kmod-tools' tracing instance, which task asked (nobody,
# root, a user namespace, hostile comm and names, 30 at once, two for one name), no instance, the
# request history, and what attribution costs per request.
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh
require_file /usr/bin/vm-whoasked

tracing=/sys/kernel/tracing
instance=$tracing/instances/kmod-tools
log=/run/whoasked.log
history=/var/lib/kmod-tools/request-history

# The kernel's helper for this scenario: attribution and history first (the requester waits all
# along), then modprobe. Requests for net-pf-14 linger so that two can wait at once.
cat >/run/whoasked-helper <<'EOF'
#!/bin/sh
case "$*" in *net-pf-14) sleep 2 ;; esac
/usr/bin/vm-whoasked --log /run/whoasked.log "$@"
exec /sbin/modprobe "$@"
EOF
chmod 0755 /run/whoasked-helper

# line_for NAME: the last log line for the request NAME (as quote_name shows it, without quotes).
line_for() { grep -F "request='$1' " "$log" | tail -n 1; }
# field LINE KEY: a key=value field of a log line (values without spaces).
field() { printf '%s\n' "$1" | sed -n "s/^.* $2=\([^ ]*\) .*$/\1/p"; }
# comm_of LINE: the quoted comm (quote_name escapes any quote inside, so it ends at the next one).
comm_of() { printf '%s\n' "$1" | sed -n "s/^.* comm=\('[^']*'\) .*$/\1/p"; }

# --- The instance ---------------------------------------------------------------------------------
check_match "/init mounts tracefs where Debian's systemd does" "^tracefs $tracing tracefs " "$(cat /proc/mounts)"
global_events=$(cat $tracing/set_event)
global_size=$(cat $tracing/buffer_size_kb)
run_cmd vm-whoasked --check
check_eq "--check before set-up: exit 1" 1 "$RUN_STATUS"
check_match "--check says the instance is absent" "^absent: $instance does not exist" "$RUN_OUT"
run_cmd vm-whoasked --setup
check_eq "set-up: exit 0" 0 "$RUN_STATUS"
check_eq "set-up says ready" ready "$RUN_OUT"
check_eq "only module:module_request is enabled" module:module_request "$(cat $instance/set_event)"
check_match "a small buffer (16 KiB, rounded up to whole sub-buffers)" '^1[6-9]$' "$(cat $instance/buffer_size_kb)"
check_match "the boot clock (that of /proc/PID/stat)" '\[boot\]' "$(cat $instance/trace_clock)"
check_eq "trace_marker writes are off" 0 "$(cat $instance/options/markers)"
check_eq "readers do not pause the recording" 0 "$(cat $instance/options/pause-on-trace)"
check_match "its start marker is in the shared event journal" 'tracing_mark_write: kmod-tools: recording$' \
    "$(cat /run/kmod-tools/request-events)"
check_eq "the journal is root's, mode 0600" "0 600" "$(stat -c '%u %a' /run/kmod-tools/request-events)"
check_eq "the global instance's events are untouched" "$global_events" "$(cat $tracing/set_event)"
# Enabling any event lets the kernel grow the global buffer from its boot size to its default, as
# for every tracing user; it must not be pinned at the boot size (what resizing ours first does).
promised=$(echo "$global_size" | sed -n 's/.*(expanded: \([0-9]*\))$/\1/p')
now_size=$(cat $tracing/buffer_size_kb)
check "the global instance's buffer keeps its default size (${global_size} -> ${now_size})" -- \
    test "${now_size%% *}" -ge "${promised:-${global_size%% *}}"
check "--check: ready" -- vm-whoasked --check
check_fail "nobody cannot read the instance's trace" -- as_nobody cat $instance/trace

echo /run/whoasked-helper >/proc/sys/kernel/modprobe
# Requests in the first attribution_slack_ns (5 s) after set-up are "ambiguous" by design (one made
# just before could have gone unrecorded); these checks are about what comes after.
sleep 6

# --- Who asked ------------------------------------------------------------------------------------
# cgroup v2 shows up in /proc/PID/cgroup only once it is mounted; nobody's request comes from a
# cgroup of its own (root moves the shell there, su keeps the pid through to vm-socket).
mount -t cgroup2 none /sys/fs/cgroup
mkdir /sys/fs/cgroup/kt.slice
sh -c 'echo $$ >/sys/fs/cgroup/kt.slice/cgroup.procs; echo $$ >/tmp/pid.nobody
       exec su -s /bin/sh -c "exec vm-socket 5 2" nobody' >/dev/null 2>&1
line=$(line_for net-pf-5)
diag "$line"
check_eq "nobody's socket(AF_APPLETALK): attributed" attributed "$(field "$line" kind)"
check_eq "to nobody's pid" "$(cat /tmp/pid.nobody)" "$(field "$line" pid)"
check_eq "uid 65534" 65534 "$(field "$line" uid)"
check_eq "comm vm-socket" "'vm-socket'" "$(comm_of "$line")"
check_eq "class unprivileged" unprivileged "$(field "$line" class)"
check_match "the description for audit lines" \
    "from pid $(cat /tmp/pid.nobody) \('vm-socket', uid 65534, no CAP_SYS_MODULE, cgroup '/kt.slice'\)$" "$line"
check "and the request was served: appletalk is loaded" -- module_loaded appletalk

sh -c 'echo $$ >/tmp/pid.root; exec mount -t minix none /mnt' >/dev/null 2>&1
line=$(line_for fs-minix)
check_eq "root's mount -t minix: attributed" attributed "$(field "$line" kind)"
check_eq "to root's pid" "$(cat /tmp/pid.root)" "$(field "$line" pid)"
check_eq "comm mount" "'mount'" "$(comm_of "$line")"
check_eq "class privileged" privileged "$(field "$line" class)"
check_match "with CAP_SYS_MODULE" "\('mount', uid 0, CAP_SYS_MODULE, cgroup '/'\)$" "$line"

sh -c 'echo $$ >/tmp/pid.userns; exec unshare -U vm-socket 9 2' >/dev/null 2>&1
line=$(line_for net-pf-9)
diag "$line"
check_eq "root in unshare -U: attributed" attributed "$(field "$line" kind)"
check_eq "to its pid" "$(cat /tmp/pid.userns)" "$(field "$line" pid)"
check_eq "class container" container "$(field "$line" class)"
check_match "the description names its user namespace" "user namespace [0-9]+, cgroup" "$line"
if as_nobody unshare -U true 2>/dev/null; then
    as_nobody sh -c 'echo $$ >/tmp/pid.nobody-ns; exec unshare -U vm-socket 12 2' >/dev/null 2>&1
    line=$(line_for net-pf-12)
    check_eq "nobody in unshare -U: class container" container "$(field "$line" class)"
    check_eq "to its pid" "$(cat /tmp/pid.nobody-ns)" "$(field "$line" pid)"
else
    skip "nobody in unshare -U is classed container" "unprivileged user namespaces are disabled"
    skip "nobody in unshare -U is attributed to its pid" "unprivileged user namespaces are disabled"
fi

# prctl(PR_SET_NAME) takes any 15 bytes: ESC, a newline, '%', a quote, a byte that is not UTF-8.
vm-whoasked --comm "$(printf 'e\033[31m\n%%s\047\377')" --socket 13
line=$(line_for net-pf-13)
check_eq "a hostile comm: still attributed" attributed "$(field "$line" kind)"
check_eq "every byte of it escaped" "'e\\x1b[31m\\x0a%s\\x27\\xff'" "$(comm_of "$line")"

# --- Two tasks, one name ----------------------------------------------------------------------------
vm-socket 14 2 >/dev/null 2>&1 &
as_nobody vm-socket 14 2 >/dev/null 2>&1 &
wait
lines=$(grep -F "request='net-pf-14' " "$log")
diag "$lines"
check_eq "two helpers ran for net-pf-14" 2 "$(printf '%s\n' "$lines" | grep -c .)"
check_eq "both ambiguous" 2 "$(printf '%s\n' "$lines" | grep -c ' kind=ambiguous ')"
check_eq "both judged by the stricter class" 2 "$(printf '%s\n' "$lines" | grep -c 'class=unprivileged .*several tasks wait for it: .* or .*judged as unprivileged)$')"

# --- 30 at once ------------------------------------------------------------------------------------
fs_types="reiserfs squashfs coda vfat msdos exfat iso9660 hfsplus hfs vxfs sysv hpfs ufs efs affs romfs
qnx4 qnx6 adfs udf omfs jfs nilfs2 befs btrfs f2fs erofs zonefs ext4 9p"
for fs in $fs_types; do
    mkdir -p "/run/mnt-$fs"
    sh -c "echo \$\$ >/tmp/pid.fs-$fs; exec mount -t $fs none /run/mnt-$fs" >/dev/null 2>&1 &
done
wait
wrong=
for fs in $fs_types; do
    line=$(line_for "fs-$fs")
    if [ "$(field "$line" kind)" != attributed ] || [ "$(field "$line" pid)" != "$(cat "/tmp/pid.fs-$fs")" ] ||
        [ "$(comm_of "$line")" != "'mount'" ]; then
        wrong="$wrong fs-$fs"
        diag "fs-$fs (pid $(cat "/tmp/pid.fs-$fs")): $line"
    fi
done
check_eq "30 concurrent mounts: each request attributed to its own mount process" "" "$wrong"
us_list=$(for fs in $fs_types; do field "$(line_for "fs-$fs")" attribution_us; done | sort -n)
hist_list=$(for fs in $fs_types; do field "$(line_for "fs-$fs")" history_us; done | sort -n)
concurrent_us=$(printf '%s\n' "$us_list" | sed -n 15p)
concurrent_hist_us=$(printf '%s\n' "$hist_list" | sed -n 15p)
max_delay_ms=$(for fs in $fs_types; do field "$(line_for "fs-$fs")" start_delay_ms; done | sort -n | tail -n 1)

# --- A request name that breaks its trace line ------------------------------------------------------
# Last before the instance is re-created: the event after a broken line is not trusted either.
mount -t "$(printf "a'b\nx")" none /mnt 2>/dev/null
line=$(grep -F "request='fs-a\\x27b\\x0ax'" "$log")
check_match "a request name with a quote and a newline, escaped" "^request='fs-a\\\\x27b\\\\x0ax' " "$line"
check_eq "whose cut trace line is not trusted: ambiguous, never a guess" ambiguous "$(field "$line" kind)"
check_match "judged by its waiting task's class" 'judged as privileged\)$' "$line"
check_eq "every log entry is one line" "$(grep -c . "$log")" "$(grep -c "^request='" "$log")"

# --- Without the instance --------------------------------------------------------------------------
events_before=$(grep -c 'module_request: ' /run/kmod-tools/request-events)
check_eq "a second set-up keeps a ready instance and its events" ready "$(vm-whoasked --setup)"
check_eq "(events in the journal before and after)" "$events_before" "$(grep -c 'module_request: ' /run/kmod-tools/request-events)"
check_eq "--remove" removed "$(vm-whoasked --remove)"
check_fail "the instance is gone" -- test -e $instance
as_nobody vm-socket 22 2 >/dev/null 2>&1
line=$(line_for net-pf-22)
check "without it, requests are still served (the helper ran)" -- test -n "$line"
check_eq "and say unknown" unknown "$(field "$line" kind)"
check_match "(tracing not set up)" "from an unknown requester \(tracing not set up: $instance does not exist\)$" "$line"
check_eq "judged as the strictest class" unknown "$(field "$line" class)"
check_eq "--remove again: absent" absent "$(vm-whoasked --remove)"
check_eq "set up again" ready "$(vm-whoasked --setup)"
sleep 6
echo 1 >$instance/options/markers
as_nobody vm-socket 25 2 >/dev/null 2>&1
check_match "a changed setting is noticed on the next request" \
    "tracing not set up: option markers is not off in trace_options\)$" "$(line_for net-pf-25)"
check_eq "and set-up re-creates the instance" ready "$(vm-whoasked --setup)"
check_eq "with markers off again" 0 "$(cat $instance/options/markers)"
sleep 6
as_nobody sh -c 'echo $$ >/tmp/pid.again; exec vm-socket 27 2' >/dev/null 2>&1
check_eq "attributed again" "$(cat /tmp/pid.again)" "$(field "$(line_for net-pf-27)" pid)"

# --- The history -----------------------------------------------------------------------------------
runs=$(grep -c "^request='" "$log")
run_cmd vm-whoasked --history
check_eq "one history entry per helper run, none skipped" "entries=$runs skipped=0" "$(printf '%s\n' "$RUN_OUT" | tail -n 1)"
check_match "the history names the requester" "^'net-pf-5' unprivileged 'pid [0-9]+ \(\\\\x27vm-socket\\\\x27, uid 65534" "$RUN_OUT"
check_eq "the history is root's, mode 0600" "0 600" "$(stat -c '%u %a' $history)"

# --- Cost ------------------------------------------------------------------------------------------
# A/B on real kernel requests, interleaved in one boot (TCG on a shared host is noisy): the helper is
# kmod-request itself (A), vm-whoasked exec'ing it after attribution and history (B), or exec'ing
# it straight away (C). B - C is what attribution and history add to a request; A the request.
ln -s /usr/bin/vm-whoasked /run/whoasked-then-kmod-request
ln -s /usr/bin/vm-whoasked /run/whoasked-plain-kmod-request
# A family without a module: every socket() is a kernel request; its task waits, so attribution
# reads /proc for it as for any request.
cost_round() { # HELPER -> microseconds for 5 requests
    echo "$1" >/proc/sys/kernel/modprobe
    vm-time -n 1 -- vm-whoasked --comm cost --socket 13 5 | sed -n 's/.*median_us=\([0-9]*\).*/\1/p'
}
cost_round /usr/sbin/kmod-request >/dev/null
cost_round /run/whoasked-then-kmod-request >/dev/null
a='' b='' c=''
i=0
while [ $i -lt 6 ]; do
    a="$a $(cost_round /usr/sbin/kmod-request)"
    b="$b $(cost_round /run/whoasked-then-kmod-request)"
    c="$c $(cost_round /run/whoasked-plain-kmod-request)"
    i=$((i + 1))
done
stats() { printf '%s\n' $1 | sort -n | awk '{ v[NR] = $1 } END { printf "%d %d", v[1] / 5, v[int((NR + 1) / 2)] / 5 }'; }
set -- $(stats "$a"); a_min=$1 a_med=$2
set -- $(stats "$b"); b_min=$1 b_med=$2
set -- $(stats "$c"); c_min=$1 c_med=$2
check "the A/B ran (every round timed)" -- test "$a_min" -gt 0 -a "$b_min" -gt 0 -a "$c_min" -gt 0
bench_now=$(vm-whoasked --bench 100 fs-vfat)
# A burst as a flood would make it: 600 requests answered by /bin/true, drained into the journal
# until it hit its bound.
echo /bin/true >/proc/sys/kernel/modprobe
vm-whoasked --comm flood --socket 13 600
bench_full=$(vm-whoasked --bench 100 fs-vfat)
echo /sbin/modprobe >/proc/sys/kernel/modprobe
journal_events=$(echo "$bench_full" | sed -n 's/.* events=\([0-9]*\) .*/\1/p')
check "the journal stayed within its bound (64..128 events) after 600 requests" -- \
    test "${journal_events:-0}" -ge 64 -a "${journal_events:-0}" -le 128
diag "COST per kernel request (min/median us): A kmod-request $a_min/$a_med, B attribution+history+exec $b_min/$b_med, C exec $c_min/$c_med" \
    "COST attribution + history per request, B - C: $((b_min - c_min)) us (min), $((b_med - c_med)) us (median): $(awk -v d=$((b_med - c_med)) -v a=$a_med 'BEGIN { printf "%.1f", 100 * d / a }')% of A's median" \
    "COST in the 30-concurrent helpers: attribution ${concurrent_us} us, history ${concurrent_hist_us} us (medians, waits for the CPU and the journal lock included)" \
    "DELAY from a request's event to its helper's start, 30 at once: at most ${max_delay_ms} ms" \
    "COST in process (warm), journal as the scenario left it: $bench_now" \
    "COST in process (warm), journal at its bound after a burst: $bench_full"
tap_done
