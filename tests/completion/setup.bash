# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by pty-complete in an interactive bash: loads bash-completion and the completions in
# $KMOD_TEST_COMPLETIONS, and wraps each so that what it offers is printed, one "@@MATCH@@ WORD"
# line each, then "@@DONE@@".
source /usr/share/bash-completion/bash_completion
bind 'set bell-style none' 2>/dev/null
for kmod_test_file in "$KMOD_TEST_COMPLETIONS"/*; do
    source "$kmod_test_file"
done
unset kmod_test_file
_kmod_test_print()
{
    local match
    for match in "${COMPREPLY[@]}"; do
        printf '@@MATCH@@ %s\n' "$match"
    done
    printf '@@DONE@@\n'
}
for kmod_test_command in kmod-reap kmod-request kmod-sysctl; do
    kmod_test_function=$(complete -p "$kmod_test_command" | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
    [[ -n $kmod_test_function ]] || { echo "setup.bash: no completion for $kmod_test_command"; continue; }
    eval "_kmod_test_$kmod_test_function() { $kmod_test_function \"\$@\"; _kmod_test_print; }"
    complete -F "_kmod_test_$kmod_test_function" "$kmod_test_command"
done
unset kmod_test_command kmod_test_function
