// SPDX-License-Identifier: LGPL-2.1-or-later
// Glob patterns over module names and aliases (keep list, autoload policy).
#pragma once

#include <string>
#include <string_view>

namespace kmodtools {

// A pattern is a shell glob (*, ?, [...]) over the characters that occur in module names and
// aliases. std::string() if valid, otherwise why not.
std::string pattern_problem(std::string_view pattern);

// fnmatch(3) with '-' and '_' treated as the same character, as module names are.
bool pattern_matches(std::string_view pattern, std::string_view name);

} // namespace kmodtools
