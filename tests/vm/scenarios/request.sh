#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# kmod-request on the real kernel: by hand, as the kernel's helper (mount, char device, socket),
# 30 concurrent kernel requests, the autoload policy, --show-depends against modprobe, bad input.
# shellcheck shell=dash source=../vm-lib.sh
. /vm-lib.sh

release=$(uname -r)
records=/run/kmod-tools/on-demand
# record_field MODULE FIELD: one field of a record, as written by kmod-request (pretty-printed JSON).
record_field() {
    sed -n "s/^ *\"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$records/$1" 2>/dev/null
}

# --- By hand -------------------------------------------------------------------------------------
check_fail "xfs and libcrc32c are not loaded at boot" -- sh -c 'grep -Eq "^(xfs|libcrc32c) " /proc/modules'
check "kmod-request xfs" -- kmod-request xfs
check "xfs is loaded" -- module_loaded xfs
check "its dependency libcrc32c is loaded" -- module_loaded libcrc32c
check "xfs is recorded" -- test -f "$records/xfs"
check "libcrc32c is recorded" -- test -f "$records/libcrc32c"
check_eq "xfs was requested by a user" user "$(record_field xfs requester)"
check_eq "libcrc32c was requested as part of 'xfs'" xfs "$(record_field libcrc32c requested)"
check_eq "the record names this load of xfs (its sysfs inode)" \
    "ino:$(stat -c %i /sys/module/xfs)" "$(record_field xfs instance)"
before=$(cat "$records/xfs")
check "kmod-request of a loaded module succeeds" -- kmod-request xfs
check_eq "and does not touch its record" "$before" "$(cat "$records/xfs")"
/sbin/modprobe dummy
check "kmod-request of a module loaded by modprobe succeeds" -- kmod-request dummy
check_fail "but it is not recorded as on demand" -- test -e "$records/dummy"
check "a built-in module is success" -- kmod-request ipv6
check_fail "and never recorded" -- test -e "$records/ipv6"
run_cmd kmod-request --json fs-squashfs
check_eq "--json: exit 0" 0 "$RUN_STATUS"
check_match "--json says what was inserted" '"inserted": \[' "$RUN_OUT"
check_match "--json names squashfs" '"squashfs"' "$RUN_OUT"
check_match "--json status" '"status": "inserted"' "$RUN_OUT"
run_cmd kmod-request -n fs-hfs
check_eq "--dry-run: exit 0" 0 "$RUN_STATUS"
check_match "--dry-run says what it would insert" 'would insert hfs' "$RUN_ERR"
check_fail "--dry-run inserts nothing" -- module_loaded hfs
check_fail "--dry-run records nothing" -- test -e "$records/hfs"
dmesg -c >/dev/null
check "--dry-run of a kernel request (-k)" -- kmod-request -n -k fs-hfs
check_no_match "--dry-run writes no audit line" "audit: kernel request 'fs-hfs'" "$(dmesg)"
check "names from standard input" -- sh -c 'printf "fs-befs\n\nfs-efs\n" | kmod-request -'
check "both stdin names loaded" -- sh -c 'grep -q "^befs " /proc/modules && grep -q "^efs " /proc/modules'

# --- --show-depends equals modprobe's ------------------------------------------------------------
for name in fs-xfs xfs fs-btrfs fs-vfat fs-ocfs2 crypto-sha256 char-major-10-200 rtnl-link-dummy \
    net-pf-5 net-pf-38 ipv6 fs-cifs libcrc32c; do
    ours=$(kmod-request --show-depends "$name" 2>&1)
    theirs=$(/sbin/modprobe --show-depends "$name" 2>&1)
    check_eq "--show-depends $name equals modprobe's" "$theirs" "$ours"
done
check_match "--show-depends of a built-in module says builtin" '^builtin ipv6$' \
    "$(kmod-request --show-depends ipv6)"
run_cmd kmod-request --show-depends kt-no-such-module
check_eq "--show-depends of nothing: exit 1" 1 "$RUN_STATUS"

# --- As the kernel's helper ----------------------------------------------------------------------
check "kmod-sysctl makes kmod-request the helper" -- kmod-sysctl modprobe=/usr/sbin/kmod-request
dmesg -c >/dev/null
check_fail "minix is not loaded yet" -- module_loaded minix
mount -t minix none /mnt 2>/dev/null
check "mount -t minix made the kernel load minix through kmod-request" -- module_loaded minix
check_eq "minix recorded as requested by the kernel" kernel "$(record_field minix requester)"
check_eq "minix recorded under the kernel's name for it" fs-minix "$(record_field minix requested)"
check_match "the kernel log has the audit line" \
    "kmod-request: audit: kernel request 'fs-minix' from .* granted: inserted minix" "$(dmesg)"

check_fail "tun is not loaded yet" -- module_loaded tun
mknod /run/tun-node c 10 200
cat /run/tun-node >/dev/null 2>&1
check "opening a char-major-10-200 node made the kernel load tun" -- module_loaded tun
check_eq "tun recorded as char-major-10-200" char-major-10-200 "$(record_field tun requested)"

if command -v vm-socket >/dev/null 2>&1; then
    check_fail "appletalk is not loaded yet" -- module_loaded appletalk
    vm-socket 5 2 >/dev/null 2>&1
    check "a socket of family 5 made the kernel load appletalk" -- module_loaded appletalk
    check_eq "appletalk recorded as net-pf-5" net-pf-5 "$(record_field appletalk requested)"
else
    skip "a socket of an unloaded family loads its module" "vm-socket missing from the initramfs"
fi

# --- 30 concurrent kernel requests ---------------------------------------------------------------
fs_types="reiserfs squashfs coda vfat msdos exfat iso9660 hfsplus hfs vxfs sysv hpfs ufs efs affs romfs
qnx4 qnx6 adfs udf omfs jfs nilfs2 befs btrfs f2fs erofs zonefs ext4 9p"
count=0
for fs in $fs_types; do
    mkdir -p "/run/mnt-$fs"
    mount -t "$fs" none "/run/mnt-$fs" >/dev/null 2>&1 &
    count=$((count + 1))
done
wait
check_eq "30 mounts started at once" 30 "$count"
missing=
for fs in $fs_types; do
    module=$(/sbin/modprobe -R "fs-$fs" 2>/dev/null | head -n 1)
    module_loaded "$module" || missing="$missing $fs($module)"
done
check_eq "all 30 file systems' modules are loaded" "" "$missing"
bad=
for record in "$records"/*; do
    name=${record##*/}
    grep -q "\"module\": \"$name\"" "$record" || bad="$bad $name"
done
check_eq "every record is intact and names its own module" "" "$bad"
unrecorded=
for fs in $fs_types; do
    module=$(/sbin/modprobe -R "fs-$fs" 2>/dev/null | head -n 1)
    [ -f "$records/$module" ] || unrecorded="$unrecorded $module"
done
check_eq "every module loaded for the mounts is recorded" "" "$unrecorded"
check_no_match "no temporary file left behind" '^\.' "$(ls -a "$records" | grep -v '^\.\.\?$')"

# --- Autoload policy -----------------------------------------------------------------------------
mkdir -p /etc/kmod-tools
printf 'deny = fs-bfs omfs*\n' >/etc/kmod-tools/kmod-tools.conf
dmesg -c >/dev/null
mount -t bfs none /mnt 2>/dev/null
check_fail "a denied alias is not loaded" -- module_loaded bfs
check_fail "nor recorded" -- test -e "$records/bfs"
check_match "the denial is in the kernel log with the rule" \
    "kmod-request: audit: kernel request 'fs-bfs' from .* denied by 'deny = fs-bfs' \(/etc/kmod-tools/kmod-tools.conf:1\)" \
    "$(dmesg)"
check "the policy does not apply to requests by hand" -- kmod-request bfs
check_match "--explain tells what the kernel would get" "denied by 'deny = fs-bfs'" "$(kmod-request --explain fs-bfs)"
check_exit "-k (the old kernels' flag) applies the policy: exit 1" 1 -- kmod-request -s -k -- fs-bfs
printf 'deny = fs-bfs\nbogus line\n' >/etc/kmod-tools/kmod-tools.conf
check_exit "a broken policy refuses kernel requests" 1 -- kmod-request -k fs-udf
rm /etc/kmod-tools/kmod-tools.conf

# The kernel may start its helper with no fds 0-2 at all (test-tool-main proves the guard that
# replaces them); here: the helper still works, and its records stay clean.
check_fail "nlmon is not loaded yet" -- module_loaded nlmon
check "kmod-request works with stdin, stdout and stderr closed" -- sh -c 'kmod-request -v kt-no-such-name nlmon <&- >&- 2>&-; test $? -eq 1'
check "nlmon loaded all the same" -- module_loaded nlmon
check_match "its record is clean JSON" '^\{$' "$(head -n 1 "$records/nlmon")"
check_no_match "with no message inside" 'kmod-request|no module' "$(cat "$records/nlmon")"
/sbin/rmmod nlmon
rm -f "$records/nlmon"

# Older invocation forms of the helper all work.
/sbin/modprobe -r efs befs 2>/dev/null
check "helper form '-s -k NAME'" -- kmod-request -s -k fs-efs
check "helper form '-q NAME'" -- kmod-request -q fs-befs
check "helper form 'NAME'" -- kmod-request dummy

# --- Bad input -----------------------------------------------------------------------------------
run_cmd kmod-request ''
check_eq "empty name: exit 2" 2 "$RUN_STATUS"
check_match "empty name: says so" "^kmod-request: bad name '': empty name$" "$RUN_ERR"
run_cmd kmod-request ../../tmp/evil
check_eq "name with '/': exit 2" 2 "$RUN_STATUS"
check_match "name with '/': says so" "contains '/'" "$RUN_ERR"
run_cmd kmod-request 'fs xfs'
check_eq "name with a space: exit 2" 2 "$RUN_STATUS"
run_cmd kmod-request "$(printf 'xfs\001')"
check_match "name with a control character: escaped in the message" "bad name 'xfs\\\\x01'" "$RUN_ERR"
run_cmd kmod-request "$(printf 'a\nb')"
check_eq "name with a newline: exit 2" 2 "$RUN_STATUS"
check_eq "name with a newline: one line of error" 1 "$(printf '%s\n' "$RUN_ERR" | grep -c '^kmod-request: ')"
check_eq "name with a newline: then the hint, as every usage error" "Try 'kmod-request --help'." \
    "$(printf '%s\n' "$RUN_ERR" | tail -n 1)"
run_cmd kmod-request -xfs
check_eq "name starting with '-' without '--': exit 2" 2 "$RUN_STATUS"
check_match "and says where such a name goes" "unknown option '-xfs'" "$RUN_ERR"
run_cmd kmod-request -- -xfs
check_eq "name starting with '-' after '--': exit 2" 2 "$RUN_STATUS"
long=$(head -c 4096 /dev/zero | tr '\0' a)
run_cmd kmod-request "$long"
check_eq "4 KiB name: exit 2" 2 "$RUN_STATUS"
check_match "4 KiB name: says it is too long" "longer than 1024 characters" "$RUN_ERR"
run_cmd kmod-request xfs '' dummy
check_eq "one bad name in a batch: exit 2" 2 "$RUN_STATUS"
run_cmd kmod-request kt-no-such-module
check_eq "unknown name: exit 1" 1 "$RUN_STATUS"
check_match "unknown name: says so" "no module or alias matches 'kt-no-such-module'" "$RUN_ERR"
run_cmd kmod-request xfs kt-no-such-module
check_eq "a batch with one unknown name: exit 1" 1 "$RUN_STATUS"
check_fail "nlmon is not loaded" -- module_loaded nlmon
run_cmd as_nobody kmod-request nlmon
check_eq "not root: exit 1" 1 "$RUN_STATUS"
check_match "not root: names CAP_SYS_MODULE" "could not insert 'nlmon': .*CAP_SYS_MODULE" "$RUN_ERR"
check_fail "not root: nothing recorded" -- test -e "$records/nlmon"

# A module the kernel refuses: a copy of dummy.ko whose vermagic is not this kernel's, in its own tree.
bad_tree=/run/bad-tree
mkdir -p "$bad_tree/lib/modules/$release/extra"
dummy_ko=$(/sbin/modinfo -n dummy)
# A changed module fails its signature check, which the kernel treats as fatal even when signatures
# are optional; an unsigned one only taints. So drop the signature: the file ends with the signature,
# a 12-byte struct module_signature whose last 4 bytes are its big-endian length, and a 28-byte magic.
strip_signature() {
    local size sig_len
    size=$(wc -c <"$1")
    set -- "$1" "$2" $(tail -c 40 "$1" | head -c 12 | od -An -tu1)
    sig_len=$(( (${10} << 24) | (${11} << 16) | (${12} << 8) | ${13} ))
    head -c $((size - sig_len - 40)) "$1" >"$2"
}
strip_signature "$dummy_ko" /run/dummy-unsigned.ko
check_match "the signature is gone from the copy" '^$' "$(/sbin/modinfo -F signer /run/dummy-unsigned.ko)"
# With modversions the kernel compares the vermagic after the release, so change a flag there
# (same length: the ELF layout must not move).
sed 's/ mod_unload / mod_unlo4d /' /run/dummy-unsigned.ko >"$bad_tree/lib/modules/$release/extra/kt_badmagic.ko"
# gfs2 alone, without dlm: the kernel will not find dlm's symbols.
check_fail "dlm is not loaded" -- module_loaded dlm
cp "$(/sbin/modinfo -n gfs2)" "$bad_tree/lib/modules/$release/extra/gfs2.ko"
/sbin/depmod -b "$bad_tree" "$release" 2>/dev/null
run_cmd kmod-request -d "$bad_tree" kt_badmagic
check_eq "bad vermagic: exit 1" 1 "$RUN_STATUS"
check_match "bad vermagic: names the module and the cause" "could not insert 'kt_badmagic': .*vermagic" "$RUN_ERR"
check_fail "bad vermagic: nothing recorded" -- test -e "$records/kt_badmagic"
run_cmd kmod-request -d "$bad_tree" gfs2
check_eq "unknown symbol: exit 1" 1 "$RUN_STATUS"
check_match "unknown symbol: names the module and the cause" "could not insert 'gfs2': Unknown symbol in module" "$RUN_ERR"
check_fail "unknown symbol: gfs2 not loaded" -- module_loaded gfs2
check_fail "unknown symbol: nothing recorded" -- test -e "$records/gfs2"

# Last, because it cannot be undone: modules_disabled.
echo 1 >/proc/sys/kernel/modules_disabled
run_cmd kmod-request nlmon
check_eq "modules_disabled: exit 1" 1 "$RUN_STATUS"
check_match "modules_disabled: says so" "module loading is disabled \(kernel.modules_disabled=1\)" "$RUN_ERR"
check "modules_disabled: a loaded module is still success" -- kmod-request xfs

tap_done
