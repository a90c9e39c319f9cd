# SPDX-License-Identifier: LGPL-2.1-or-later
# Fish completion for kmod-reap(8): options, --delay values, and the names of the loaded modules,
# as module arguments and as --keep patterns; with --list-settings or --forget-settings, the names
# of the modules with saved settings.

# The loaded modules: the first field of /proc/modules, read under $KMOD_TOOLS_ROOT as kmod-reap
# reads it (for tests; empty or unset means /).
function __kmod_reap_loaded
    set -l file "$KMOD_TOOLS_ROOT/proc/modules"
    test -r $file; or return
    string replace -r -- ' .*' '' <$file
end

# The modules with saved settings: MODULE.conf in /var/lib/kmod-tools/settings (root only).
function __kmod_reap_with_settings
    for file in "$KMOD_TOOLS_ROOT"/var/lib/kmod-tools/settings/*.conf
        test -f $file; and basename $file .conf
    end
end

# Module arguments: not after --all, and not those already named ('-' is '_' in module names).
function __kmod_reap_names
    set -l words (commandline -opc)
    set -e words[1]
    set -l given
    set -l settings false
    set -l names_only false
    while set -q words[1]
        if $names_only
            set -a given (string replace -a -- - _ $words[1])
        else
            switch $words[1]
                case --
                    set names_only true
                case --all
                    return
                case --list-settings --forget-settings
                    set settings true
                case --keep --delay
                    set -e words[1]
                case '-*'
                case '*'
                    set -a given (string replace -a -- - _ $words[1])
            end
        end
        set -e words[1]
    end
    set -l candidates
    if $settings
        set candidates (__kmod_reap_with_settings)
    else
        set candidates (__kmod_reap_loaded)
    end
    for name in $candidates
        contains -- $name $given; or echo $name
    end
end

complete -c kmod-reap -f
complete -c kmod-reap -l all -d 'Consider every loaded module, not only those loaded on demand'
complete -c kmod-reap -l keep -x -a '(__kmod_reap_loaded)' -d 'Never unload modules matching PATTERN (one pattern each)'
complete -c kmod-reap -l delay -x -a '0 30 60 120 5m' -d 'Unload delay for this sweep (0: every idle one)'
complete -c kmod-reap -s n -l dry-run -d 'Show what would be unloaded; change nothing'
complete -c kmod-reap -s v -l verbose -d 'Also say why each other module stays'
complete -c kmod-reap -s q -l quiet -d 'Print errors only'
complete -c kmod-reap -l json -d 'Print the outcome for every module as JSON'
complete -c kmod-reap -l wait -d 'Wait for a running sweep to finish instead of leaving at once'
complete -c kmod-reap -s s -l syslog -d 'Log to syslog instead of standard error'
complete -c kmod-reap -l list-settings -n 'not __fish_seen_argument -l forget-settings' -d 'Print the saved settings; unload nothing'
complete -c kmod-reap -l forget-settings -n 'not __fish_seen_argument -l list-settings' -d 'Forget the saved settings of the named modules'
complete -c kmod-reap -s V -l version -d 'Print the version and exit'
complete -c kmod-reap -s h -l help -d 'Print the help and exit'
complete -c kmod-reap -n 'not string match -q -- "-*" (commandline -ct); or contains -- -- (commandline -opc)' -a '(__kmod_reap_names)'
