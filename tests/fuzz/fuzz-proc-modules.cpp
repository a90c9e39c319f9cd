// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: the text of /proc/modules.
#include "fuzz.hpp"
#include "loaded_modules.hpp"

using namespace kmodtools;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = fuzz::as_text(data, size);
    std::vector<LoadedModule> modules;
    const bool parsed = fuzz::returns_or_throws_error([&] { modules = parse_proc_modules(text); },
                                                      [](const Error& error) {
                                                          const std::string message = error.what();
                                                          FUZZ_CHECK(message.rfind("/proc/modules:", 0) == 0);
                                                          FUZZ_CHECK(fuzz::is_one_line(message));
                                                      });
    if (!parsed)
        return 0;
    for (const auto& module : modules) {
        // Modules on their way out are left out of the view: nothing may act on them.
        FUZZ_CHECK(module.state != ModuleState::unloading);
        FUZZ_CHECK(module.refcount >= 0);
        FUZZ_CHECK(!module.name.empty());
        for (const auto& holder : module.holders)
            FUZZ_CHECK(!holder.empty() && holder.front() != '[');
    }
    return 0;
}
