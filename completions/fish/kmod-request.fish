# SPDX-License-Identifier: LGPL-2.1-or-later
# Fish completion for kmod-request(8): options, -d DIR, -S VERSION, and module names and aliases of
# the module tree the command line names (-d/-S, as the tool reads them), else the running kernel's.

# Prints the root given with -d (empty: /) and the kernel version given with -S (empty: uname -r),
# one a line, as kmod-request will read them from the words before the cursor.
function __kmod_request_tree
    set -l words (commandline -opc)
    set -e words[1]
    set -l root ''
    set -l kernel_version ''
    while set -q words[1]
        switch $words[1]
            case --
                break
            case -d --dirname
                set -q words[2]; and set root $words[2]; and set -e words[1]
            case '--dirname=*'
                set root (string replace -- --dirname= '' $words[1])
            case '-d?*'
                set root (string sub -s 3 -- $words[1])
            case -S --set-version
                set -q words[2]; and set kernel_version $words[2]; and set -e words[1]
            case '--set-version=*'
                set kernel_version (string replace -- --set-version= '' $words[1])
            case '-S?*'
                set kernel_version (string sub -s 3 -- $words[1])
        end
        set -e words[1]
    end
    test -n "$kernel_version"; or set kernel_version (uname -r)
    echo $root
    echo $kernel_version
end

# Module names from modules.dep ('-' and '_' as there) and, once something has been typed, aliases
# from modules.alias (tens of thousands of lines, mostly device patterns). Aliases with wildcards
# are patterns, not names, and one with '/' is refused by kmod-request: both are left out.
function __kmod_request_names
    set -l tree (__kmod_request_tree)
    set -l dir $tree[1]/lib/modules/$tree[2]
    test -r $dir/modules.dep; or return
    set -l prefix (commandline -ct)
    set -l files $dir/modules.dep
    test -n "$prefix" -a -r $dir/modules.alias; and set -a files $dir/modules.alias
    # The prefix goes through the environment: awk -v would expand backslashes in it.
    KMOD_REQUEST_PREFIX=$prefix LC_ALL=C command awk '
        BEGIN { prefix = ENVIRON["KMOD_REQUEST_PREFIX"]; n = length(prefix) }
        FNR == 1 { alias_file = FILENAME ~ /modules\.alias$/ }
        alias_file {
            if ($1 == "alias" && substr($2, 1, n) == prefix && $2 ~ /^[A-Za-z0-9_.:,+-]+$/ && !seen[$2]++)
                print $2
            next
        }
        {
            name = $1
            sub(/:$/, "", name)
            sub(/.*\//, "", name)
            sub(/\.ko(\.[a-z0-9]+)?$/, "", name)
            if (substr(name, 1, n) == prefix && !seen[name]++)
                print name
        }' $files 2>/dev/null
end

# The kernel versions with a module tree under the root given with -d.
function __kmod_request_versions
    set -l tree (__kmod_request_tree)
    for dir in $tree[1]/lib/modules/*/
        basename $dir
    end
end

complete -c kmod-request -f
complete -c kmod-request -s q -l quiet -d 'Print errors only'
complete -c kmod-request -s v -l verbose -d "Say what is loaded and why (twice: libkmod's debugging too)"
complete -c kmod-request -s s -l syslog -d 'Log to syslog instead of standard error'
complete -c kmod-request -s k -l autoclean -d 'Treat the request as coming from the kernel'
complete -c kmod-request -s n -l dry-run -d 'Do everything but insert and record'
complete -c kmod-request -l show-depends -d 'Print what would be loaded, as modprobe --show-depends does'
complete -c kmod-request -l explain -d 'Print what each name resolves to and what the policy says'
complete -c kmod-request -l as -x -a 'privileged unprivileged container unknown' -d 'Judge as a kernel request from this requester class'
complete -c kmod-request -l suggest-policy -d 'Print a policy drop-in from the request history'
complete -c kmod-request -l since -x -d 'With --suggest-policy: only requests this recent (90, 30m, 12h)'
complete -c kmod-request -l diff -d 'With --suggest-policy: how it would decide otherwise'
complete -c kmod-request -l modprobe -d 'With --suggest-policy: as modprobe.d lines'
complete -c kmod-request -l json -d 'Print a JSON array with one result object per name'
complete -c kmod-request -l no-restore -d 'Do not restore settings saved by kmod-reap'
complete -c kmod-request -s d -l dirname -x -a '(__fish_complete_directories)' -d 'Root of the module tree (DIR/lib/modules/VERSION)'
complete -c kmod-request -s S -l set-version -x -a '(__kmod_request_versions)' -d 'Kernel version of the module tree'
complete -c kmod-request -s V -l version -d 'Print the version and exit'
complete -c kmod-request -s h -l help -d 'Print the help and exit'
complete -c kmod-request -n 'not string match -q -- "-*" (commandline -ct); or contains -- -- (commandline -opc)' -a '(__kmod_request_names)'
