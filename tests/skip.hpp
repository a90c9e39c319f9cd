// SPDX-License-Identifier: LGPL-2.1-or-later
// SKIP for doctest, which has no run-time skip: a check that cannot run here says so on a line of
// its own ("SKIP: ...") that tests/summarize counts as skipped, never passed, and the test case or
// subcase returns.
#pragma once

#include <unistd.h>

#include <cstdio>

namespace kmodtools::testing {

inline void report_skip(const char* file, int line, const char* reason)
{
    std::printf("SKIP: %s:%d: %s\n", file, line, reason);
    std::fflush(stdout);
}

inline bool is_root() { return ::geteuid() == 0; }

} // namespace kmodtools::testing

#define KMOD_TOOLS_SKIP(reason)                                                                                        \
    do {                                                                                                               \
        ::kmodtools::testing::report_skip(__FILE__, __LINE__, reason);                                                 \
        return;                                                                                                        \
    } while (false)

// As the first statement of a test case or subcase: `SKIP_UNLESS(is_root(), "needs root to chown");`
#define SKIP_UNLESS(condition, reason)                                                                                 \
    do {                                                                                                               \
        if (!(condition))                                                                                              \
            KMOD_TOOLS_SKIP(reason);                                                                                   \
    } while (false)
