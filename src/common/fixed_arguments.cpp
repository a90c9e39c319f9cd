// SPDX-License-Identifier: LGPL-2.1-or-later
// Recognising fixed command lines.
#include "fixed_arguments.hpp"

#include <algorithm>

namespace kmodtools {

std::optional<FixedArguments> scan_fixed_arguments(int argc, const char* const* argv,
                                                   std::initializer_list<std::string_view> flags,
                                                   std::size_t max_operands)
{
    FixedArguments scanned;
    bool after_dashes = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view word = argv[i];
        if (after_dashes || word.empty() || word.front() != '-') {
            if (scanned.operands.size() == max_operands)
                return std::nullopt;
            scanned.operands.push_back(word);
        } else if (word == "--" && scanned.operands.empty()) {
            after_dashes = true;
        } else if (std::find(flags.begin(), flags.end(), word) != flags.end()) {
            scanned.flags.push_back(word);
        } else {
            return std::nullopt;
        }
    }
    return scanned;
}

} // namespace kmodtools
