# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by pty-complete in an interactive zsh -f: loads the completion system with the functions
# in $KMOD_TEST_COMPLETIONS first on $fpath, and prints every match a completion adds, one
# "@@MATCH@@ WORD" line each, then "@@DONE@@".
unsetopt beep
fpath=("$KMOD_TEST_COMPLETIONS" $fpath)
autoload -Uz compinit && compinit -u -D
zstyle ':completion:*' menu no
compadd()
{
    # Calls with -O, -A or -D only ask compadd for an array: they add nothing.
    if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
        builtin compadd "$@"
        return
    fi
    local -a kmod_test_hits
    builtin compadd -A kmod_test_hits "$@"
    (( $#kmod_test_hits )) && print -rl -- ${kmod_test_hits/#/@@MATCH@@ }
    builtin compadd "$@"
}
_kmod_test_done() { print -r -- @@DONE@@ }
comppostfuncs=(_kmod_test_done)
bindkey '^I' complete-word
