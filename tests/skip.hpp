// SPDX-License-Identifier: LGPL-2.1-or-later
// SKIP for doctest, which has no runtime skip: a check that cannot run here says so on a line of its
// own ("SKIP: REASON") that tests/summarize counts as skipped, and the test case returns.
#pragma once

#include <unistd.h>

#include <cstdio>

namespace kmodtools::testing {

inline void report_skip(const char* reason)
{
    std::printf("SKIP: %s\n", reason);
    std::fflush(stdout);
}

inline bool is_root()
{
    return ::geteuid() == 0;
}

} // namespace kmodtools::testing

// Use as the first statement of a test case or subcase: `SKIP_UNLESS(is_root(), "needs root to chown");`
#define SKIP_UNLESS(condition, reason)                                                                                 \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            ::kmodtools::testing::report_skip(reason);                                                                 \
            return;                                                                                                    \
        }                                                                                                              \
    } while (false)
