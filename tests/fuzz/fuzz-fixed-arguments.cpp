// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: the fixed command lines the kernel and the timer run the tools with. The input is
// argv split at NUL bytes; whatever it holds, the scanner accepts only the forms it documents.
#include "fixed_arguments.hpp"
#include "fuzz.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace kmodtools;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = fuzz::as_text(data, size);
    std::vector<std::string> words{"kmod-request"};
    for (std::size_t start = 0; start <= text.size();) {
        const auto end = std::min(text.find('\0', start), text.size());
        words.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    std::vector<const char*> argv;
    for (const auto& word : words)
        argv.push_back(word.c_str());
    const int argc = static_cast<int>(argv.size());
    argv.push_back(nullptr);

    const auto scanned = scan_fixed_arguments(argc, argv.data(), {"-q", "-s", "-k"}, 1);
    if (!scanned)
        return 0;
    FUZZ_CHECK(scanned->operands.size() <= 1);
    FUZZ_CHECK(scanned->flags.size() + scanned->operands.size() <= words.size() - 1);
    for (const auto flag : scanned->flags)
        FUZZ_CHECK(flag == "-q" || flag == "-s" || flag == "-k");
    // An operand before "--" never looks like an option; after it, anything is a name.
    const auto dashes = std::find(words.begin() + 1, words.end(), "--");
    for (const auto operand : scanned->operands) {
        const auto at = std::find_if(words.begin() + 1, words.end(),
                                     [&](const std::string& word) { return word.data() == operand.data(); });
        FUZZ_CHECK(at != words.end());
        FUZZ_CHECK(operand.empty() || operand.front() != '-' || (dashes != words.end() && dashes < at));
    }
    return 0;
}
