// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: load intents (/run/kmod-tools/pending/PID), parsed and written back.
#include "fuzz.hpp"
#include "load_intent.hpp"
#include "request_name.hpp"

using namespace kmodtools;

namespace {

bool same(const LoadIntent& a, const LoadIntent& b)
{
    if (a.pid != b.pid || a.requester != b.requester || a.written_at != b.written_at ||
        a.written_at_boottime != b.written_at_boottime || a.modules.size() != b.modules.size())
        return false;
    for (std::size_t i = 0; i < a.modules.size(); ++i)
        if (a.modules[i].module != b.modules[i].module || a.modules[i].requested_name != b.modules[i].requested_name ||
            a.modules[i].instance_before != b.modules[i].instance_before)
            return false;
    return true;
}

// What a written intent reads back as: bytes JSON cannot carry (not UTF-8) become U+FFFD.
LoadIntent as_written(LoadIntent intent)
{
    for (auto& load : intent.modules) {
        load.requested_name = fuzz::valid_utf8(load.requested_name);
        load.instance_before = fuzz::valid_utf8(load.instance_before);
    }
    return intent;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = fuzz::as_text(data, size);
    LoadIntent intent;
    const bool parsed = fuzz::returns_or_throws_error([&] { intent = parse_load_intent(text, "fuzz"); },
                                                      [](const Error& error) {
                                                          const std::string message = error.what();
                                                          FUZZ_CHECK(message.rfind("corrupt load intent fuzz: ", 0) == 0);
                                                          FUZZ_CHECK(fuzz::is_one_line(message));
                                                      });
    if (!parsed)
        return 0;
    // Reconciling trusts an accepted intent to name a process and modules only.
    FUZZ_CHECK(intent.pid > 0);
    FUZZ_CHECK(intent.written_at >= 0 && intent.written_at_boottime >= 0);
    for (const auto& load : intent.modules)
        FUZZ_CHECK(is_module_name(load.module));
    LoadIntent again;
    const auto written = serialize(intent);
    const bool reparsed = fuzz::returns_or_throws_error([&] { again = parse_load_intent(written, "written"); },
                                                        [&](const Error& error) { fuzz::fail(error.what()); });
    FUZZ_CHECK(reparsed && same(as_written(intent), again));
    return 0;
}
