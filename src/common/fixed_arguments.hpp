// SPDX-License-Identifier: LGPL-2.1-or-later
// The fixed command lines programs run the tools with, recognised without building a CLI11 parser.
//
// The kernel starts kmod-request as "-q -- NAME" (older kernels "-s -k NAME"), and the timer runs a
// plain "kmod-reap": building CLI11's parser costs such a process more than the rest of its work
// when the kernel starts dozens of helpers at once. Anything these forms do not cover goes to CLI11.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

namespace kmodtools {

struct FixedArguments {
    std::vector<std::string_view> flags;    // in the order given
    std::vector<std::string_view> operands; // in the order given
};

// Scans argv[1..]: each word is one of `flags`, a "--" before any operand (every word after it is
// an operand), or an operand (a word that does not start with '-'). std::nullopt for any other
// word, or for more than `max_operands` operands.
std::optional<FixedArguments> scan_fixed_arguments(int argc, const char* const* argv,
                                                   std::initializer_list<std::string_view> flags,
                                                   std::size_t max_operands);

} // namespace kmodtools
