# SPDX-License-Identifier: LGPL-2.1-or-later
# Fish completion for kmod-sysctl(8): options, --trace actions, knob names, and values after NAME=.

# NAME, or after NAME= what that knob takes, as whole NAME=VALUE words.
function __kmod_sysctl_entries
    set -l token (commandline -ct)
    if not string match -q -- '*=*' $token
        printf '%s\t%s\n' \
            modprobe "the kernel's module helper" \
            unload_delay "how long a module loaded on demand may stay unused" \
            modules_disabled "whether modules can be loaded and unloaded (read-only)" \
            kernel.modprobe "the kernel's module helper" \
            kmod_unload_delay "how long a module loaded on demand may stay unused" \
            kernel.modules_disabled "whether modules can be loaded and unloaded (read-only)"
        return
    end
    set -l name (string split -m 1 -- = $token)[1]
    set -l value (string split -m 1 -- = $token)[2]
    switch $name
        case modprobe kernel.modprobe
            # The helper must be an absolute path to an executable file.
            if not string match -q -- '/*' $value
                test -z "$value"; and echo $name=/
                return
            end
            for path in $value*
                if test -d $path
                    echo $name=$path/
                else if test -f $path -a -x $path
                    echo $name=$path
                end
            end
        case unload_delay kmod_unload_delay
            printf "$name=%s\n" 30 60 120 300 5m 10m 30m 1h
    end
end

# The actions of --trace, with what each does.
function __kmod_sysctl_trace_actions
    printf '%s\t%s\n' \
        setup "set it up" \
        remove "remove it" \
        status "print its state" \
        auto "set it up if kernel.modprobe names kmod-request"
end

complete -c kmod-sysctl -f
complete -c kmod-sysctl -s a -l all -d 'Print all knobs (the default without names)'
complete -c kmod-sysctl -s n -l values -n 'not __fish_seen_argument -l json' -d 'Print values only, without names'
complete -c kmod-sysctl -l json -n 'not __fish_seen_argument -s n -l values' -d 'Print a JSON object'
complete -c kmod-sysctl -s p -l persist -d 'Also make what is set survive reboot'
complete -c kmod-sysctl -s q -l quiet -d 'Print nothing for what is set'
complete -c kmod-sysctl -l trace -x -a '(__kmod_sysctl_trace_actions)' -d 'Manage the trace instance of requester attribution'
complete -c kmod-sysctl -s V -l version -d 'Print the version and exit'
complete -c kmod-sysctl -s h -l help -d 'Print the help and exit'
# --trace goes without knob names.
complete -c kmod-sysctl -n 'not string match -q -- "-*" (commandline -ct); and not __fish_seen_argument -l trace' \
    -a '(__kmod_sysctl_entries)'
