// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: configuration text (kmod-tools.conf(5)) applied on top of the defaults.
#include "config.hpp"
#include "duration.hpp"
#include "fuzz.hpp"
#include "module_pattern.hpp"

using namespace kmodtools;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = fuzz::as_text(data, size);
    const std::filesystem::path source = "/etc/kmod-tools/kmod-tools.conf.d/fuzz.conf";
    Config config;
    const bool applied = fuzz::returns_or_throws_error([&] { apply_config_text(config, text, source); },
                                                       [&](const Error& error) {
                                                           const std::string message = error.what();
                                                           // Every problem names FILE:LINE first.
                                                           FUZZ_CHECK(message.rfind(source.string() + ":", 0) == 0);
                                                           FUZZ_CHECK(fuzz::is_one_line(message));
                                                           FUZZ_CHECK(error.status() == ExitStatus::failure);
                                                       });
    if (!applied)
        return 0;
    // What was accepted is what the rest of the tools rely on without checking again.
    FUZZ_CHECK(config.unload_delay.count() >= 0 && config.unload_delay <= max_duration);
    for (const auto& pattern : config.keep)
        FUZZ_CHECK(pattern_problem(pattern).empty());
    for (const auto* rules : {&config.deny, &config.allow})
        for (const auto& rule : *rules) {
            FUZZ_CHECK(pattern_problem(rule.pattern).empty());
            FUZZ_CHECK(rule.origin.file == source && rule.origin.line >= 1);
        }
    return 0;
}
