// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: durations (unload_delay, --delay): 90, 90s, 2m, 1h.
#include "duration.hpp"
#include "fuzz.hpp"

using namespace kmodtools;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = fuzz::as_text(data, size);
    std::string why;
    std::optional<std::chrono::seconds> duration;
    fuzz::returns_or_throws_error([&] { duration = parse_duration(text, &why); });
    if (!duration) {
        FUZZ_CHECK(!why.empty());
        return 0;
    }
    FUZZ_CHECK(duration->count() >= 0 && *duration <= max_duration);
    // Accepted text is digits with at most one unit: anything else is a typo that must not pass.
    const auto digits = text.find_first_not_of("0123456789");
    FUZZ_CHECK(digits != 0);
    FUZZ_CHECK(digits == std::string_view::npos ||
               (digits == text.size() - 1 && std::string_view("smh").find(text.back()) != std::string_view::npos));
    // The seconds kmod-sysctl prints read back as the same duration.
    FUZZ_CHECK(parse_duration(std::to_string(duration->count())) == duration);
    return 0;
}
