#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The autoload policy on the real kernel, with kmod-request as the kernel's helper (issue 10): who
# asked, in the audit line and the history (nobody, root, a user namespace, a container cgroup, 30 at
# once, no trace instance), and what the policy makes of it (deny unless privileged, deny for
# container and for unknown, warn and learn modes, a denied dependency and softdep refusing the whole
# request, learn -> --suggest-policy -> enforce).
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh
require_file /usr/sbin/kmod-request
require_file /usr/bin/vm-whoasked
require_file /usr/bin/vm-socket

instance=/sys/kernel/tracing/instances/kmod-tools
conf=/etc/kmod-tools/kmod-tools.conf
dropins=/etc/kmod-tools/kmod-tools.conf.d
history=/var/lib/kmod-tools/request-history
mkdir -p /etc/kmod-tools "$dropins" /etc/modprobe.d

# The policy in force: kmod-tools.conf holds exactly the lines given (none: no file at all).
policy() {
    if [ $# -eq 0 ]; then
        rm -f "$conf"
    else
        printf '%s\n' "$@" >"$conf"
    fi
}
# as_root TAG CMD... / as_user TAG CMD...: CMD as root / as nobody, its pid in /tmp/pid.TAG (the pid
# the kernel's request comes from: sh, su and unshare exec, they do not fork).
as_root() {
    local tag="$1"
    shift
    sh -c 'echo $$ >"/tmp/pid.$0"; exec "$@"' "$tag" "$@" >/dev/null 2>&1
}
as_user() {
    local tag="$1"
    shift
    # shellcheck disable=SC2016 # for the inner shell to expand
    as_nobody sh -c 'echo $$ >"/tmp/pid.$0"; exec "$@"' "$tag" "$@" >/dev/null 2>&1
}
pid_of() { cat "/tmp/pid.$1" 2>/dev/null; }
# audit_for NAME: the last audit line of kmod-request for the kernel request NAME, from "kernel request".
audit_for() { dmesg | sed -n "s/^.*kmod-request: audit: \(kernel request '$1' .*\)$/\1/p" | tail -n 1; }
# audit_pid LINE: the requester's pid in an audit line (empty if it names none).
audit_pid() { printf '%s\n' "$1" | sed -n "s/^kernel request '[^']*' from pid \([0-9]*\) .*$/\1/p"; }
# history_for NAME: the last history entry for NAME, its separator dropped; hfield ENTRY N: field N
# (1 version, 2 time_us, 3 decision, 4 class, 5 name, 6 modules, 7 requester, 8 checksum).
history_for() { tr -d '\036' <"$history" 2>/dev/null | awk -F '\t' -v n="$1" '$5 == n' | tail -n 1; }
hfield() { printf '%s\n' "$1" | cut -f "$2"; }
# section TITLE: a diagnostic with the time since boot, to see where a slow run spent it.
section() { diag "--- $* (at $(cut -d ' ' -f 1 /proc/uptime) s)"; }
loaded_list() { cut -d ' ' -f 1 /proc/modules | sort | tr '\n' ' '; }
not_loaded() { ! module_loaded "$1"; }

# --- Set-up: the trace instance, then kmod-request as the helper ----------------------------------
# cgroup v2, so that the audit lines name cgroups (and container_cgroups has something to match).
mount -t cgroup2 none /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/kt.slice /sys/fs/cgroup/kt-containers/c1
check_eq "the trace instance is set up" ready "$(vm-whoasked --setup)"
check "kmod-request is the kernel's helper" -- kmod-sysctl modprobe=/usr/sbin/kmod-request
check_eq "(kernel.modprobe)" /usr/sbin/kmod-request "$(cat /proc/sys/kernel/modprobe)"
# Requests within attribution_slack_ns (5 s) of the set-up are ambiguous by design.
sleep 6

# --- 1. Who asked: nobody's socket, in the audit line and the history --------------------------
section "1. Who asked"
check "appletalk is not loaded yet" -- not_loaded appletalk
sh -c 'echo $$ >/sys/fs/cgroup/kt.slice/cgroup.procs; echo $$ >/tmp/pid.nobody1
       exec su -s /bin/sh -c "exec vm-socket 5 2" nobody' >/dev/null 2>&1
line=$(audit_for net-pf-5)
diag "$line"
check_eq "nobody's socket(AF_APPLETALK): the audit line names nobody's pid" "$(pid_of nobody1)" "$(audit_pid "$line")"
check_match "with its comm, uid 65534, no CAP_SYS_MODULE and its cgroup" \
    "^kernel request 'net-pf-5' from pid [0-9]+ \('vm-socket', uid 65534, no CAP_SYS_MODULE, cgroup '/kt.slice'\) " "$line"
check_match "granted without a policy: inserted appletalk and its dependencies" \
    " granted: inserted ([a-z0-9_]+ )*appletalk( |$)" "$line"
check "appletalk is loaded" -- module_loaded appletalk
entry=$(history_for net-pf-5)
check_eq "the history: granted" granted "$(hfield "$entry" 3)"
check_eq "the history: class unprivileged" unprivileged "$(hfield "$entry" 4)"
check_match "the history: the modules" '(^| )appletalk( |$)' "$(hfield "$entry" 6)"
check_match "the history: the requester as in the audit line" "^pid $(pid_of nobody1) \('vm-socket', uid 65534" \
    "$(hfield "$entry" 7)"
check_eq "the history is root's, mode 0600" "0 600" "$(stat -c '%u %a' "$history")"

# --- 2. deny unless privileged (MODHARDEN): nobody is refused, root is not ---------------------
section "2. deny unless privileged (MODHARDEN)"
policy 'deny unless privileged = * !fs-*'
check "phonet is not loaded yet" -- not_loaded phonet
as_user nobody2 vm-socket 35 2
line=$(audit_for net-pf-35)
diag "$line"
check "nobody's socket(AF_PHONET) leaves phonet unloaded" -- not_loaded phonet
check_eq "the denial names nobody's pid" "$(pid_of nobody2)" "$(audit_pid "$line")"
check_match "and the rule, its file and line, and what it matched" \
    "\('vm-socket', uid 65534, no CAP_SYS_MODULE, cgroup '/'\) denied by 'deny unless privileged = \* !fs-\*' \($conf:1\) matching net-pf-35$" \
    "$line"
entry=$(history_for net-pf-35)
check_eq "the history: denied, unprivileged" "denied unprivileged" "$(hfield "$entry" 3) $(hfield "$entry" 4)"
as_root root2 vm-socket 35 2
line=$(audit_for net-pf-35)
diag "$line"
check "root's same request loads phonet" -- module_loaded phonet
check_eq "attributed to root's pid" "$(pid_of root2)" "$(audit_pid "$line")"
check_match "privileged, granted" "\('vm-socket', uid 0, CAP_SYS_MODULE, cgroup '/'\) granted: inserted phonet$" "$line"
check_eq "the history: granted, privileged" "granted privileged" \
    "$(entry=$(history_for net-pf-35); echo "$(hfield "$entry" 3) $(hfield "$entry" 4)")"
check_exit "a dry run judged as unprivileged: net-pf-29 denied (exit 1)" 1 -- kmod-request -n -k --as unprivileged net-pf-29
check "fs-minix passes by the exception !fs-*" -- kmod-request -n -k --as unprivileged fs-minix
check "and net-pf-29 as privileged" -- kmod-request -n -k --as privileged net-pf-29

# --- 3. Containers: a user namespace, and a cgroup that container_cgroups names ----------------
section "3. Containers"
policy 'deny for container = net-pf-41 net-pf-42' 'container_cgroups = /kt-containers/*'
check "kcm is not loaded yet" -- not_loaded kcm
as_root userns unshare -U vm-socket 41 2
line=$(audit_for net-pf-41)
diag "$line"
check "root in unshare -U: socket(AF_KCM) leaves kcm unloaded" -- not_loaded kcm
check_eq "attributed to its pid" "$(pid_of userns)" "$(audit_pid "$line")"
check_match "its user namespace named, denied by the container rule" \
    "user namespace [0-9]+, cgroup '/'\) denied by 'deny for container = net-pf-41' \($conf:1\) matching net-pf-41$" "$line"
entry=$(history_for net-pf-41)
check_eq "the history: denied, container" "denied container" "$(hfield "$entry" 3) $(hfield "$entry" 4)"
as_root root3 vm-socket 41 2
check "root's same request outside the namespace loads kcm" -- module_loaded kcm
check_match "granted to root" "^kernel request 'net-pf-41' from pid $(pid_of root3) .* granted: inserted kcm$" \
    "$(audit_for net-pf-41)"
check "qrtr is not loaded yet" -- not_loaded qrtr
sh -c 'echo $$ >/sys/fs/cgroup/kt-containers/c1/cgroup.procs; echo $$ >/tmp/pid.cgroup
       exec vm-socket 42 2' >/dev/null 2>&1
line=$(audit_for net-pf-42)
diag "$line"
check "root in cgroup /kt-containers/c1: socket(AF_QIPCRTR) leaves qrtr unloaded" -- not_loaded qrtr
check_eq "attributed to its pid" "$(pid_of cgroup)" "$(audit_pid "$line")"
check_match "CAP_SYS_MODULE, yet a container by its cgroup" \
    "\('vm-socket', uid 0, CAP_SYS_MODULE, cgroup '/kt-containers/c1'\) denied by 'deny for container = net-pf-42' \($conf:1\) matching net-pf-42$" \
    "$line"
check_eq "the history: class container" container "$(hfield "$(history_for net-pf-42)" 4)"
sh -c 'echo $$ >/sys/fs/cgroup/kt.slice/cgroup.procs; echo $$ >/tmp/pid.root3b
       exec vm-socket 42 2' >/dev/null 2>&1
check "root in cgroup /kt.slice (not listed): qrtr loads" -- module_loaded qrtr
check_eq "the history: granted, privileged" "granted privileged" \
    "$(entry=$(history_for net-pf-42); echo "$(hfield "$entry" 3) $(hfield "$entry" 4)")"

# --- 4. A denied dependency or softdep refuses the whole request, nothing inserted -------------
section "4. A denied dependency or softdep refuses the whole request"
# fs-xfs: xfs needs libcrc32c, whose own softdep is crc32c (crc32c_generic); and a softdep of
# modprobe.d's: minix pre: dummy.
printf 'softdep minix pre: dummy\n' >/etc/modprobe.d/kt-policy.conf
policy 'deny = libcrc32c'
check_match "--explain: libcrc32c, a dependency of xfs, is denied" \
    "libcrc32c \(dependency of xfs\): denied by 'deny = libcrc32c'" "$(kmod-request --explain --as privileged fs-xfs)"
before=$(loaded_list)
as_root xfs1 mount -t xfs none /mnt
line=$(audit_for fs-xfs)
diag "$line"
check_eq "root's mount -t xfs with libcrc32c denied: nothing inserted" "$before" "$(loaded_list)"
check "(xfs not loaded)" -- not_loaded xfs
check_match "the denied dependency in the audit line" \
    "^kernel request 'fs-xfs' from pid $(pid_of xfs1) \('mount', uid 0, CAP_SYS_MODULE, cgroup '/'\) denied: libcrc32c \(dependency of xfs\) denied by 'deny = libcrc32c' \($conf:1\) matching libcrc32c$" \
    "$line"
check_eq "the history: denied" denied "$(hfield "$(history_for fs-xfs)" 3)"
policy 'deny = crc32c_generic'
as_root xfs2 mount -t xfs none /mnt
line=$(audit_for fs-xfs)
diag "$line"
check_eq "with libcrc32c's softdep crc32c_generic denied: nothing inserted" "$before" "$(loaded_list)"
check_match "the denied softdep in the audit line" \
    "^kernel request 'fs-xfs' from pid $(pid_of xfs2) .* denied: crc32c_generic \(softdep of libcrc32c\) denied by 'deny = crc32c_generic' \($conf:1\) matching crc32c_generic$" \
    "$line"
policy 'deny = dummy'
check_match "--explain: dummy is in minix's plan (the modprobe.d softdep)" \
    "dummy \(softdep of minix\): denied by 'deny = dummy'" "$(kmod-request --explain --as privileged fs-minix)"
as_root minix1 mount -t minix none /mnt
line=$(audit_for fs-minix)
diag "$line"
check_eq "root's mount -t minix with its softdep dummy denied: nothing inserted" "$before" "$(loaded_list)"
check "(minix not loaded)" -- not_loaded minix
check_match "the denied softdep in the audit line" \
    "^kernel request 'fs-minix' from pid $(pid_of minix1) .* denied: dummy \(softdep of minix\) denied by 'deny = dummy' \($conf:1\) matching dummy$" \
    "$line"
# The controls: without those rules, the same requests insert what was refused.
policy
as_root minix2 mount -t minix none /mnt
check "without the rule, mount -t minix loads minix" -- module_loaded minix
check "and its softdep dummy" -- module_loaded dummy
check_match "(audit)" "^kernel request 'fs-minix' from pid $(pid_of minix2) .* granted: inserted " "$(audit_for fs-minix)"
as_root xfs3 mount -t xfs none /mnt
check "and mount -t xfs loads xfs, libcrc32c and crc32c_generic" -- \
    sh -c 'grep -q "^xfs " /proc/modules && grep -q "^libcrc32c " /proc/modules && grep -q "^crc32c_generic " /proc/modules'

# --- 5. 30 at once: each audit line names its own requester ------------------------------------
section "5. 30 at once"
# Half root's mounts, half nobody's in a user and mount namespace of its own (a container, which the
# kernel lets mount, and so request file systems). No policy: every one is served.
fs_types="reiserfs squashfs coda vfat msdos exfat iso9660 hfsplus hfs vxfs sysv hpfs ufs efs affs romfs
qnx4 qnx6 adfs udf omfs jfs nilfs2 befs btrfs f2fs erofs zonefs ext4 9p"
i=0
for fs in $fs_types; do
    mkdir -p "/run/mnt-$fs"
    if [ $((i % 2)) -eq 0 ]; then
        as_root "fs-$fs" mount -t "$fs" none "/run/mnt-$fs" &
    else
        as_user "fs-$fs" unshare -Urm mount -t "$fs" none "/run/mnt-$fs" &
    fi
    i=$((i + 1))
done
wait
section "5. (the 30 were served)"
# One pass over the kernel log and the history (a process costs under TCG): per name, the expected
# pid (what its process wrote), uid, namespace and class against the last audit line and entry.
i=0
for fs in $fs_types; do
    read -r pid <"/tmp/pid.fs-$fs"
    if [ $((i % 2)) -eq 0 ]; then echo "fs-$fs $pid 0 initial privileged"; else
        echo "fs-$fs $pid 65534 namespace container"; fi
    i=$((i + 1))
done >/tmp/expected.30
dmesg >/tmp/kmsg.30
tr -d '\036' <"$history" >/tmp/history.30
result=$(awk -F '\t' '
    FILENAME == ARGV[1] { split($0, w, " "); want[w[1]] = w[2] " mount " w[3] " " w[4] " " w[5]; next }
    FILENAME == ARGV[2] {
        at = index($0, "kmod-request: audit: kernel request \047")
        if (at == 0) next
        rest = substr($0, at + 37); name = substr(rest, 1, index(rest, "\047") - 1)
        rest = substr(rest, length(name) + 2); line[name] = rest
        if (split(rest, w, " ") >= 6 && w[1] == "from" && w[2] == "pid") {
            comm = w[4]; gsub(/[(\047,]/, "", comm); uid = w[6]; sub(/,$/, "", uid)
            seen[name] = w[3] " " comm " " uid " " (index(rest, ", user namespace ") ? "namespace" : "initial")
        } else seen[name] = "not attributed"
        next
    }
    { class[$5] = $4 }
    END {
        for (name in want) {
            if (name in line) count++
            if (seen[name] " " class[name] != want[name]) {
                wrong = wrong " " name
                print "# " name ": expected " want[name] ", got " seen[name] " " class[name] ": " line[name]
            }
        }
        print "count=" count + 0; print "wrong=" wrong
    }' /tmp/expected.30 /tmp/kmsg.30 /tmp/history.30)
printf '%s\n' "$result" | grep '^# '
count=$(printf '%s\n' "$result" | sed -n 's/^count=//p')
wrong=$(printf '%s\n' "$result" | sed -n 's/^wrong=//p')
check_eq "30 concurrent requests: 30 audit lines" 30 "$count"
check_eq "each attributed to the pid its process wrote, with its class (none misattributed)" "" "$wrong"
check_eq "none ambiguous or unknown" 0 "$(grep -c "audit: kernel request 'fs-.* from an \(ambiguous\|unknown\) requester" /tmp/kmsg.30)"

# --- 6. warn and learn modes load, and say so where they should --------------------------------
section "6. warn and learn modes load"
policy 'policy_mode = warn' 'deny = net-pf-29'
check "can is not loaded yet" -- not_loaded can
as_user warn vm-socket 29 2
line=$(audit_for net-pf-29)
diag "$line"
check "warn mode: nobody's socket(AF_CAN) loads can" -- module_loaded can
check_match "the audit line says it would be denied, and by what" \
    "^kernel request 'net-pf-29' from pid $(pid_of warn) .* granted: inserted can \(policy_mode = warn: would be denied by 'deny = net-pf-29' \($conf:2\) matching net-pf-29\)$" \
    "$line"
check_eq "the history: would-deny" would-deny "$(hfield "$(history_for net-pf-29)" 3)"
policy 'policy_mode = learn' 'deny = net-pf-38'
check "af_alg is not loaded yet" -- not_loaded af_alg
as_user learn vm-socket 38 2
line=$(audit_for net-pf-38)
diag "$line"
check "learn mode: nobody's socket(AF_ALG) loads af_alg" -- module_loaded af_alg
check_match "the audit line: granted" "^kernel request 'net-pf-38' from pid $(pid_of learn) .* granted: inserted af_alg$" "$line"
check_no_match "and nothing about the policy" 'would be|policy_mode' "$line"
entry=$(history_for net-pf-38)
check_eq "the history: would-deny, unprivileged" "would-deny unprivileged" "$(hfield "$entry" 3) $(hfield "$entry" 4)"

# --- 7. learn -> --suggest-policy -> enforce ---------------------------------------------------
section "7. learn -> --suggest-policy -> enforce"
# As kmod-tools.conf(5) shows it: a learn drop-in, requests, the suggestion installed as a drop-in.
# --since covers the learn phase only: it starts 4 s after the last request before it, and each
# --since is 3 s longer than the phase so far (whole seconds, and kmod-request's own start-up).
policy
printf 'deny unless privileged = *\npolicy_mode = learn\n' >"$dropins/40-learn.conf"
sleep 4
learn_start=$(date +%s)
learn_since() { echo "$(($(date +%s) - learn_start + 3))s"; }
check "atm, nfc and fuse are not loaded yet" -- sh -c '! grep -Eq "^(atm|nfc|fuse) " /proc/modules'
as_user learn1 vm-socket 8 2
as_user learn2 vm-socket 39 2
as_user learn3 unshare -Urm mount -t fuse none /mnt
as_user learn4 vm-socket 13 2
check "learn mode: nobody's requests load atm, nfc, and fuse from its namespace" -- \
    sh -c 'grep -q "^atm " /proc/modules && grep -q "^nfc " /proc/modules && grep -q "^fuse " /proc/modules'
check_eq "the history: would-deny for each (unprivileged, unprivileged, container, unprivileged)" \
    "would-deny unprivileged would-deny unprivileged would-deny container would-deny unprivileged" \
    "$(for name in net-pf-8 net-pf-39 fs-fuse net-pf-13; do entry=$(history_for $name)
        printf '%s %s ' "$(hfield "$entry" 3)" "$(hfield "$entry" 4)"; done | sed 's/ $//')"
run_cmd kmod-request --suggest-policy --since "$(learn_since)"
check_eq "--suggest-policy --since (the learn phase): exit 0" 0 "$RUN_STATUS"
suggested=$RUN_OUT
diag "$suggested"
check_match "it denies all but privileged requesters" '^deny unless privileged = \*$' "$suggested"
check_match "allows what nobody needed" '^allow for unprivileged = net-pf-39 net-pf-8$' "$suggested"
check_match "and what the container needed, for containers" '^allow for container = fs-fuse$' "$suggested"
check_match "enforces" '^policy_mode = enforce$' "$suggested"
check_match "leaves out a name that resolves to nothing" "^# Resolving to nothing.*: 'net-pf-13' from unprivileged$" "$suggested"
check_no_match "and what was asked before --since" 'net-pf-5|net-pf-29|fs-squashfs' "$suggested"
run_cmd kmod-request --suggest-policy --since "$(learn_since)" --diff
diag "$RUN_OUT"
check_match "--diff: net-pf-8 from unprivileged tasks would be denied in force, allowed as suggested" \
    "^'net-pf-8' from unprivileged tasks: today \(policy_mode = learn\) denied by 'deny unless privileged = \*' .*; suggested: allowed by 'allow for unprivileged = net-pf-8'" \
    "$RUN_OUT"
check_match "--diff: and fs-fuse from containers" "^'fs-fuse' from container tasks: today .*; suggested: allowed" "$RUN_OUT"
printf '%s\n' "$suggested" >"$dropins/50-suggested.conf"
check_match "installed: --explain judges by it" "allowed by 'allow for unprivileged = net-pf-8' \($dropins/50-suggested.conf:[0-9]+\)" \
    "$(kmod-request --explain --as unprivileged net-pf-8)"
# Unloaded again (what each request inserted, last first), the same requests are granted.
for name in net-pf-8 net-pf-39 fs-fuse; do
    for module in $(audit_for $name | sed -n 's/^.* granted: inserted \(.*\)$/\1/p' | tr ' ' '\n' | sed -n '1!G;h;$p'); do
        /sbin/rmmod "$module"
    done
done
check "unloaded again" -- sh -c '! grep -Eq "^(atm|nfc|rfkill|fuse) " /proc/modules'
as_user enforce0 unshare -U vm-socket 8 2
check "enforced: a container's socket(AF_ATMPVC) is denied (allowed for unprivileged only)" -- not_loaded atm
check_match "(audit)" "^kernel request 'net-pf-8' from pid $(pid_of enforce0) .* denied by 'deny unless privileged = \*'" \
    "$(audit_for net-pf-8)"
as_user enforce1 vm-socket 8 2
as_user enforce2 vm-socket 39 2
as_user enforce3 unshare -Urm mount -t fuse none /mnt
check "nobody's same requests load atm, nfc and fuse again" -- \
    sh -c 'grep -q "^atm " /proc/modules && grep -q "^nfc " /proc/modules && grep -q "^fuse " /proc/modules'
check_eq "the history: granted for each" "granted granted granted" \
    "$(for name in net-pf-8 net-pf-39 fs-fuse; do printf '%s ' "$(hfield "$(history_for $name)" 3)"; done | sed 's/ $//')"
check "rxrpc is not loaded yet" -- not_loaded rxrpc
as_user enforce4 vm-socket 33 2
check "a new name from nobody, socket(AF_RXRPC), is denied" -- not_loaded rxrpc
check_match "(audit)" \
    "^kernel request 'net-pf-33' from pid $(pid_of enforce4) \('vm-socket', uid 65534, .* denied by 'deny unless privileged = \*' \(/etc/kmod-tools/kmod-tools.conf.d/[0-9]+-[a-z]+.conf:1\) matching net-pf-33$" \
    "$(audit_for net-pf-33)"
as_root enforce5 vm-socket 33 2
check "root's is not: rxrpc loads" -- module_loaded rxrpc
rm "$dropins/40-learn.conf" "$dropins/50-suggested.conf"

# --- 8. Without the trace instance: served, unknown, judged as unknown -------------------------
section "8. Without the trace instance"
policy 'deny for unknown = fs-bfs net-pf-24'
check "the trace instance is removed" -- rmdir "$instance"
check "pppox, bfs and mpls_router are not loaded yet" -- \
    sh -c '! grep -Eq "^(pppox|bfs|mpls_router) " /proc/modules'
as_user unknown1 vm-socket 28 2
line=$(audit_for net-pf-28)
diag "$line"
check "nobody's socket(AF_MPLS) is still served: mpls_router loaded" -- module_loaded mpls_router
check_match "from an unknown requester (tracing not set up)" \
    "^kernel request 'net-pf-28' from an unknown requester \(tracing not set up: $instance does not exist\) granted: inserted .*mpls_router" \
    "$line"
check_eq "the history: class unknown" unknown "$(hfield "$(history_for net-pf-28)" 4)"
as_user unknown2 vm-socket 24 2
check "deny for unknown: nobody's socket(AF_PPPOX) leaves pppox unloaded" -- not_loaded pppox
check_match "(audit)" \
    "^kernel request 'net-pf-24' from an unknown requester \(tracing not set up: .*\) denied by 'deny for unknown = net-pf-24' \($conf:1\) matching net-pf-24$" \
    "$(audit_for net-pf-24)"
as_root unknown3 mount -t bfs none /mnt
check "and root's mount -t bfs too (not attributed: the stricter class)" -- not_loaded bfs
check_match "(audit)" "^kernel request 'fs-bfs' from an unknown requester .* denied by 'deny for unknown = fs-bfs'" \
    "$(audit_for fs-bfs)"
entry=$(history_for fs-bfs)
check_eq "the history: denied, unknown" "denied unknown" "$(hfield "$entry" 3) $(hfield "$entry" 4)"

check_eq "every audit line is in the history: as many kernel requests as entries" \
    "$(dmesg | grep -c 'kmod-request: audit: kernel request ')" "$(tr -cd '\036' <"$history" | wc -c)"
section "done"
tap_done
