// SPDX-License-Identifier: LGPL-2.1-or-later
// SKIP(reason): a check that cannot run here is reported as skipped, never as passed.
//
// doctest 2.4 has no run-time skip, so the test prints one "SKIP: FILE:LINE: reason" line on stdout
// and leaves the test case or subcase; tests/summarize counts these lines as skipped checks.
#pragma once

#include <cstdio>

#define KMOD_TOOLS_SKIP(reason)                                                  \
    do {                                                                          \
        std::printf("SKIP: %s:%d: %s\n", __FILE__, __LINE__, reason);             \
        std::fflush(stdout);                                                      \
        return;                                                                   \
    } while (false)
