#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The soak (issue 9): kmod-request as the kernel's helper for 60 s of waves of 50 concurrent kernel
# requests (mounts of file-system types, sockets of families, opens of character devices), kmod-reap
# sweeps every half second that really unload, named reaps, unload_delay changes, and SIGKILL of
# random kmod-request and kmod-reap processes. Then the invariants: nothing in use was removed,
# every module a helper inserted that is still loaded has a valid record (after one reconciling
# sweep), the state parses, no temporary file is left, no helper waited on a sweep, and the kernel
# never said "kmod busy". The counts are printed as TAP comments.
# shellcheck shell=dash source=../vm-lib.sh disable=SC2034
. /vm-lib.sh
require_file /usr/sbin/kmod-request
require_file /usr/sbin/kmod-reap
require_file /usr/bin/vm-socket

soak_seconds=60
records=/run/kmod-tools/on-demand
pending=/run/kmod-tools/pending
work=/run/soak
mkdir -p "$work"
tracing=/sys/kernel/tracing
trace=$tracing/instances/soak

# A random number below $1: busybox ash's $RANDOM.
random_below() { echo $((RANDOM % $1)); }

# --- Set-up: in-use modules, the helper, tracing, a kernel-log reader -----------------------------
/sbin/modprobe brd rd_nr=3 rd_size=4096 || bail_out "cannot load brd"
check "kmod-sysctl makes kmod-request the helper" -- kmod-sysctl modprobe=/usr/sbin/kmod-request
# With requester attribution, as kmod-sysctl sets the helper up: every helper drains the shared
# journal of trace events and reads its requester's /proc (issue 10). Waves of 50 at once are where
# taking turns at that journal once made the kernel say "kmod busy".
check_eq "kmod-sysctl set up the tracing instance for attribution" "trace = ready" "$(kmod-sysctl --trace=status 2>&1)"
check "kmod-sysctl unload_delay=0" -- kmod-sysctl unload_delay=0

# Every load already in the kernel, by /sys/module inode: what the soak did not insert.
for dir in /sys/module/*; do
    [ -e "$dir/initstate" ] && echo "${dir##*/} $(stat -c %i "$dir")"
done >"$work/before"

# The kernel log, kept whole: the ring buffer alone would lose the early lines of a long soak.
(while :; do cat /dev/kmsg; done) >"$work/kmsg" 2>/dev/null &
kmsg_reader=$!

# Helper lifetimes (exec to exit: the time a helper holds its kernel slot), requests and unloads.
tracing_ok=false
if mkdir "$trace" 2>/dev/null; then
    echo 8192 >"$trace/buffer_size_kb"
    echo boot >"$trace/trace_clock"
    echo 'filename ~ "*/kmod-request"' >"$trace/events/sched/sched_process_exec/filter" &&
        echo 'comm == "kmod-request"' >"$trace/events/sched/sched_process_exit/filter" &&
        echo 1 >"$trace/events/sched/sched_process_exec/enable" &&
        echo 1 >"$trace/events/sched/sched_process_exit/enable" &&
        echo 1 >"$trace/events/module/module_request/enable" &&
        echo 1 >"$trace/events/module/module_free/enable" &&
        tracing_ok=true
fi
diag "tracing: $tracing_ok"

# Held while the soak runs: two mounted file systems (loaded through the helper) and two open
# character devices. Sweeps must never take them away.
mkdosfs /dev/ram1 >/dev/null 2>&1
mke2fs /dev/ram2 >/dev/null 2>&1
held_mounts="vfat ext2"
for fs in $held_mounts; do mkdir -p "/mnt/$fs"; done
check "mount -t vfat (kernel request, held through the soak)" -- mount -t vfat /dev/ram1 /mnt/vfat
check "mount -t ext2 (kernel request for fs-ext2, held through the soak)" -- mount -t ext2 /dev/ram2 /mnt/ext2
for fs in $held_mounts; do echo "written before the soak to $fs" >"/mnt/$fs/file"; done
mknod "$work/tun" c 10 200
mknod "$work/fuse" c 10 229
exec 7<>"$work/tun" 8<>"$work/fuse"
check "an open tun node holds tun" -- module_loaded tun
check "an open fuse node holds fuse" -- module_loaded fuse
# What a read answers on each held fd (no interface attached, no file system mounted): the same
# answer after the soak shows the driver behind the fd is still the one that was opened.
fd_answer() { dd bs=1 count=1 <&"$1" 2>&1 >/dev/null | head -n 1; }
tun_answer=$(fd_answer 7)
fuse_answer=$(timeout 5 sh -c 'dd bs=1 count=1 <&8 2>&1 >/dev/null | head -n 1')
held_modules="vfat fat ext4 tun fuse"

# --- The workload ---------------------------------------------------------------------------------
fs_types="reiserfs squashfs coda msdos exfat iso9660 hfsplus hfs vxfs sysv hpfs ufs efs affs romfs
qnx4 qnx6 adfs udf omfs jfs"
families="38 24 28 26 15 5 29 31 33 41 20 8 35 43 39 40 42"
char_devices="67:0 10:235 10:229 10:203 10:237 9:0 21:0 86:0 108:0 90:0 10:242 10:200"
for fs in $fs_types; do mkdir -p "$work/mnt-$fs"; done
for device in $char_devices; do mknod "$work/char-${device%:*}-${device#*:}" c "${device%:*}" "${device#*:}"; done
triggers=0
for set in "$fs_types" "$families" "$char_devices"; do
    for item in $set; do triggers=$((triggers + 1)); done
done
check_eq "a wave is 50 kernel-triggered requests" 50 "$triggers"

# One wave: every trigger at once; a trigger still waiting after 30 s is killed (and counted).
wave() {
    local pids="" fs family device
    for fs in $fs_types; do
        mount -t "$fs" none "$work/mnt-$fs" >/dev/null 2>&1 &
        pids="$pids $!"
    done
    for family in $families; do
        vm-socket "$family" 2 >/dev/null 2>&1 &
        pids="$pids $!"
    done
    for device in $char_devices; do
        (: <"$work/char-${device%:*}-${device#*:}") 2>/dev/null &
        pids="$pids $!"
    done
    (sleep 30; kill -9 $pids 2>/dev/null && echo stuck >>"$work/stuck") &
    local watchdog=$!
    wait $pids 2>/dev/null
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
}

# A sweep every half second, as a timer would start them (a sweep still running makes the next
# one leave at once): with --delay 0 mostly, named reaps of recorded modules, and unload_delay
# changes followed by a sweep with the configured delay.
sweeper() {
    local sweeps=0 named=0 delays=0
    while [ ! -e "$work/stop" ]; do
        case $(random_below 8) in
        0)
            set -- "$records"/*
            if [ -e "$1" ]; then
                eval "module=\${$(($(random_below $#) + 1))}"
                kmod-reap --delay 0 "${module##*/}" >>"$work/sweeps.log" 2>&1 &
                named=$((named + 1))
            fi
            ;;
        1)
            (kmod-sysctl unload_delay=$(random_below 3) && kmod-reap) >>"$work/sweeps.log" 2>&1 &
            delays=$((delays + 1))
            ;;
        *)
            kmod-reap --delay 0 >>"$work/sweeps.log" 2>&1 &
            ;;
        esac
        sweeps=$((sweeps + 1))
        usleep 500000
    done
    wait
    echo "$sweeps $named $delays" >"$work/sweeper.counts"
}

# lock_waited_on PID: which lock file a waiting helper waits on, by the inode /proc/locks shows for
# the waiter ("->"), named when it is the sweeps' lock or one that helpers share among themselves
# for attribution and the history (request_event_journal.hpp, request_history.hpp; no sweep takes
# them). "over" when the wait ended before /proc/locks was read.
lock_waited_on() {
    local inode name file
    inode=$(awk -v pid="$1" '$2 == "->" && $6 == pid { n = split($7, id, ":"); print id[n]; exit }' /proc/locks 2>/dev/null)
    [ -n "$inode" ] || { echo over; return; }
    for file in /run/kmod-tools/reap.lock /run/kmod-tools/request-events /var/lib/kmod-tools/request-history.lock; do
        [ "$(stat -c %i "$file" 2>/dev/null)" = "$inode" ] && { echo "${file##*/}"; return; }
    done
    echo "inode $inode"
}

# has_sweep_lock_open PID: whether the helper PID has the sweeps' lock file open (it never should).
has_sweep_lock_open() {
    local fd
    for fd in /proc/"$1"/fd/*; do
        case $(readlink "$fd" 2>/dev/null) in */run/kmod-tools/reap.lock) return 0 ;; esac
    done
    return 1
}

# SIGKILL of a random kmod-request or kmod-reap every 0.3-0.9 s. While at it, samples where each
# running helper waits (/proc/PID/stack): the evidence of what a helper holding its slot waits for.
killer() {
    local killed_request=0 killed_reap=0 dir comm pid frame where
    while [ ! -e "$work/stop" ]; do
        set --
        for dir in /proc/[0-9]*; do
            read -r comm 2>/dev/null <"$dir/comm" || continue
            case $comm in
            kmod-request)
                set -- "$@" "${dir#/proc/}"
                where=
                while read -r frame; do
                    frame=${frame#*] }
                    where="$where ${frame%%+*}"
                done 2>/dev/null <"$dir/stack"
                # A file-lock wait: which file (/proc/locks lists the waiter with "->" and the inode).
                case $where in
                *flock* | *locks_lock* | *fcntl_setlk*)
                    where="$where [waits on $(lock_waited_on "${dir#/proc/}")]"
                    ;;
                esac
                has_sweep_lock_open "${dir#/proc/}" && where="$where [reap.lock open]"
                echo "${where:- (running)}" >>"$work/stacks"
                ;;
            kmod-reap) set -- "$@" "${dir#/proc/}" ;;
            esac
        done
        if [ $# -gt 0 ]; then
            eval "pid=\${$(($(random_below $#) + 1))}"
            read -r comm 2>/dev/null <"/proc/$pid/comm"
            if kill -9 "$pid" 2>/dev/null; then
                case $comm in
                kmod-request) killed_request=$((killed_request + 1)) ;;
                kmod-reap) killed_reap=$((killed_reap + 1)) ;;
                esac
            fi
        fi
        usleep $((300000 + $(random_below 6) * 100000))
    done
    echo "$killed_request $killed_reap" >"$work/killer.counts"
}

# --- The soak -------------------------------------------------------------------------------------
[ "$tracing_ok" = true ] && echo 1 >"$trace/tracing_on"
start=$(cut -d. -f1 /proc/uptime)
sweeper &
sweeper_pid=$!
killer &
killer_pid=$!
waves=0
while [ $(($(cut -d. -f1 /proc/uptime) - start)) -lt "$soak_seconds" ]; do
    wave
    waves=$((waves + 1))
done
touch "$work/stop"
wait "$sweeper_pid" "$killer_pid"
soak_took=$(($(cut -d. -f1 /proc/uptime) - start))
[ "$tracing_ok" = true ] && echo 0 >"$trace/tracing_on"
# The last helpers and sweeps may still be finishing (busybox has no pgrep).
tools_running() {
    local dir comm
    for dir in /proc/[0-9]*; do
        read -r comm 2>/dev/null <"$dir/comm" || continue
        case $comm in kmod-request | kmod-reap) return 0 ;; esac
    done
    return 1
}
for _ in 1 2 3 4 5 6 7 8 9 10; do
    tools_running || break
    sleep 1
done
diag "soak: $waves waves in $soak_took s"

# --- After it: nothing in use removed -------------------------------------------------------------
for fs in $held_mounts; do
    check "$fs is still mounted" -- grep -q " /mnt/$fs $fs " /proc/mounts
    check_eq "and its file still reads back" "written before the soak to $fs" "$(cat "/mnt/$fs/file" 2>&1)"
    check "and takes a new file" -- sh -c "echo after >/mnt/$fs/after && sync"
done
for module in $held_modules; do
    check "$module (in use throughout) is still loaded" -- module_loaded "$module"
done
check_eq "the held tun fd answers as before the soak ($tun_answer)" "$tun_answer" "$(fd_answer 7)"
check_eq "the held fuse fd answers as before the soak ($fuse_answer)" "$fuse_answer" \
    "$(timeout 5 sh -c 'dd bs=1 count=1 <&8 2>&1 >/dev/null | head -n 1')"

# --- Records: one reconciling sweep, then every load the soak made has its own ------------------
diag "left by killed helpers before the reconciling sweep: $(ls "$pending" 2>/dev/null | wc -l) intent(s)"
run_cmd kmod-reap --delay 1h
check_eq "a reconciling sweep (nothing idle for 1 h): exit 0" 0 "$RUN_STATUS"
reconciled=$(printf '%s\n' "$RUN_ERR" | grep -c '^kmod-reap: warning: recorded ')
check_eq "no intent is left" "" "$(ls "$pending" 2>/dev/null)"
unrecorded=
recorded=0
for dir in /sys/module/*; do
    [ -e "$dir/initstate" ] || continue
    module=${dir##*/}
    instance=$(stat -c %i "$dir")
    grep -qx "$module $instance" "$work/before" && continue
    # Loaded during the soak, so by a helper: it needs a record of this very load.
    if grep -q "\"instance\": \"ino:$instance\"" "$records/$module" 2>/dev/null &&
        grep -q "\"module\": \"$module\"" "$records/$module"; then
        recorded=$((recorded + 1))
    else
        unrecorded="$unrecorded $module"
    fi
done
check_eq "every module the helpers inserted that is still loaded has a record of that load" "" "$unrecorded"
diag "loaded by helpers during the soak and still loaded: $recorded, all recorded"

# --- State parses; no temporaries after one more sweep --------------------------------------------
run_cmd kmod-reap -n --json -v
check_eq "kmod-reap -n --json: exit 0 (records and idle clocks parse)" 0 "$RUN_STATUS"
check_no_match "and no state file is corrupt or refused" 'corrupt|refusing|cannot' "$RUN_ERR"
check_match "and its JSON is an array of outcomes" '^\[' "$RUN_OUT"
run_cmd kmod-reap --list-settings
check_eq "kmod-reap --list-settings: exit 0 (saved settings parse)" 0 "$RUN_STATUS"
check_no_match "and no settings file is corrupt" 'corrupt|refusing|cannot' "$RUN_ERR"
run_cmd kmod-reap --delay 1h
check_eq "one more sweep: exit 0" 0 "$RUN_STATUS"
leftovers=$(find /run/kmod-tools /var/lib/kmod-tools -name '.*' 2>/dev/null)
check_eq "no temporary or set-aside file is left" "" "$leftovers"
check_no_match "no sweep of the soak met a corrupt state file" 'corrupt|refusing' "$(cat "$work/sweeps.log")"

# --- The kernel's side: never busy; where helpers waited ------------------------------------------
kill "$kmsg_reader" 2>/dev/null
check_no_match "the kernel never said 'kmod busy'" 'kmod busy|cannot be processed' "$(cat "$work/kmsg")"
# /dev/kmsg records are "PRIO,SEQ,TIME,FLAGS;TEXT"; rereading after an overrun repeats some: count
# each sequence number once.
kmsg_lines() { awk -F';' '{ split($1, head, ","); if (!seen[head[2]]++) print $2 }' "$work/kmsg" | grep -- "$1"; }
served=$(kmsg_lines "kmod-request: audit: kernel request " | wc -l)
inserted=$(kmsg_lines "kmod-request: audit: kernel request .* granted: inserted" | wc -l)
# Two helpers may reconcile the same intent at once (both write the same records): count intents.
reconciled_by_helpers=$(kmsg_lines "kmod-request: recorded .* which ended before recording them" |
    sed 's/.* by process \([0-9]*\) .*/\1/' | sort -u | wc -l)
diag "$(kmsg_lines "kmod-request: recorded .* which ended before recording them" | head -n 5)"
# Attribution was in effect: requests were matched to the soak's own processes (mount, vm-socket,
# cat), and how many gave up on a busy journal (judged unknown, never an error) is counted.
attributed=$(kmsg_lines "kmod-request: audit: kernel request .* from pid [0-9]" | wc -l)
journal_busy=$(kmsg_lines "kmod-request: audit: kernel request .* the event journal stayed busy" | wc -l)
check "requests were attributed to their requesters ($attributed of $served)" -- test "$attributed" -gt 0
diag "attribution: $attributed of $served requests attributed to one task; $journal_busy gave up on a busy event journal"

if [ -s "$work/stacks" ]; then
    samples=$(wc -l <"$work/stacks")
    # The documented bound: a helper never waits for a sweep in user space: it takes no lock kmod-reap
    # takes (records and intents are atomic replaces). Helpers do share two locks among themselves
    # (the attribution journal, held for one drain of trace_pipe and polled for at most 1.5 s, so
    # such waits sleep in nanosleep rather than in flock; the history's, shared but for a
    # rotation), which no sweep takes. So: no helper ever has the sweeps' lock open, and no wait
    # seen on it; waits on the helpers' own locks are counted.
    lock_waits=$(grep -Ec 'flock|locks_lock|fcntl_setlk' "$work/stacks")
    journal_waits=$(grep -c 'waits on request-events\]' "$work/stacks")
    check_eq "no helper ever had the sweeps' lock open" 0 "$(grep -c 'reap.lock open' "$work/stacks")"
    check_eq "no helper was ever seen waiting on the sweeps' lock" 0 "$(grep -c 'waits on reap.lock' "$work/stacks")"
    check_eq "no helper was seen waiting on a lock that is not the sweeps' or the helpers' own" 0 \
        "$(grep -c 'waits on inode' "$work/stacks")"
    diag "$(grep -E 'flock|locks_lock|fcntl_setlk' "$work/stacks" | sort | uniq -c | head -n 5)"
    # What the kernel couples to an unload: the module mutex, and a load waiting for an unload of the
    # same module to finish (add_unformed_module).
    diag "helper stack samples: $samples; preempted in user space: $(grep -c 'irqentry_exit_to_user_mode' "$work/stacks");" \
        "module signature check: $(grep -c 'module_sig_check' "$work/stacks"); other load_module: $(grep 'load_module' "$work/stacks" | grep -vc 'module_sig_check');" \
        "module mutex waits: $(grep -Ec '__mutex_lock|mutex_lock_interruptible' "$work/stacks");" \
        "waits for an unload of the same module: $(grep -Ec 'add_unformed_module|finished_loading' "$work/stacks"); file-lock waits: $lock_waits (on the helpers' event journal: $journal_waits; the rest ended before they could be named)"
    diag "most frequent helper stacks (innermost first):"
    diag "$(sort "$work/stacks" | uniq -c | sort -rn | head -n 8)"
else
    skip "no helper was ever seen waiting on the sweeps' lock" "no /proc/PID/stack samples (no CONFIG_STACKTRACE?)"
fi

if [ "$tracing_ok" = true ]; then
    cat "$trace/trace" >"$work/trace"
    # Lifetime of each helper (exec to exit) and the most that ran at once.
    lifetimes=$(awk '
        function field(prefix,   i) { for (i = 1; i <= NF; i++) if (index($i, prefix) == 1) return substr($i, length(prefix) + 1) }
        function stamp(   i) { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) return $i + 0 }
        / sched_process_exec: / { start[field("pid=")] = stamp(); running++; if (running > most) most = running }
        / sched_process_exit: / { p = field("pid="); if (!(p in start)) next
                                  d = stamp() - start[p]; delete start[p]; running--
                                  count++; sum += d; if (d > max) max = d; if (d >= 5) over++ }
        END { printf "%d %.3f %.3f %d %d\n", count, count ? sum / count : 0, max, over + 0, most }' "$work/trace")
    set -- $lifetimes
    helpers=$1 mean_lifetime=$2 longest_lifetime=$3 over_5s=$4 most_at_once=$5
    requests=$(grep -c ' module_request: ' "$work/trace")
    unloads=$(grep -c ' module_free: ' "$work/trace")
    # Not a check: with 50 helpers on the VM's one TCG CPU a helper's lifetime is mostly waiting for
    # that CPU (see the stacks above); the kernel's own verdict, "kmod busy", is checked above.
    diag "helpers: $helpers, mean lifetime ${mean_lifetime} s, longest ${longest_lifetime} s," \
        "$over_5s of them 5 s or more, most at once $most_at_once (the kernel allows 50)"
    diag "kernel requests made: $requests"
else
    skip "no helper held its kernel slot for 5 s or more" "no tracefs instance"
    requests=unknown unloads=$(grep -c '^kmod-reap: unloaded ' "$work/sweeps.log")
fi

# --- Counts ---------------------------------------------------------------------------------------
read -r sweeps named delays <"$work/sweeper.counts"
read -r killed_request killed_reap <"$work/killer.counts"
stuck=$(cat "$work/stuck" 2>/dev/null | wc -l)
diag "requests served: $served (kernel requests made: $requests; that inserted: $inserted) in $waves waves"
diag "sweeps started: $sweeps ($named named reaps, $delays unload_delay changes)," \
    "$(grep -c 'a sweep is already running' "$work/sweeps.log") left at once as one was running"
diag "processes killed: $((killed_request + killed_reap)) ($killed_request kmod-request, $killed_reap kmod-reap)"
diag "modules unloaded: $unloads; killed helpers' intents reconciled: $reconciled_by_helpers by later helpers, $reconciled by the last sweep"
diag "modules with saved settings: $(kmod-reap --list-settings 2>/dev/null | wc -l)"
diag "triggers stuck 30 s and killed: $stuck"
diag "invariant violations: $_tap_failures"
tap_done
