// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: saved driver settings (/var/lib/kmod-tools/settings/MODULE.conf), parsed and written back.
//
// Two round trips per input: the input parsed as a settings file and, if it is one, written and
// parsed again; and the input split at NUL bytes into a module name and NAME, VALUE pairs, kept if
// save_settings() would save them.
#include "fuzz.hpp"
#include "request_name.hpp"
#include "loaded_modules.hpp"
#include "settings.hpp"

using namespace kmodtools;

namespace {

// save_settings()'s rule for parameter names (the kernel's own: letters, digits, '_', '-').
bool is_parameter_name(std::string_view name)
{
    return !name.empty() && name.size() <= 64 &&
           name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
               std::string_view::npos;
}

void check_round_trip(std::string_view module, const Parameters& parameters)
{
    Parameters again;
    const auto text = serialize_settings(module, parameters);
    const bool parsed = fuzz::returns_or_throws_error([&] { again = parse_settings(text, "written"); },
                                                      [&](const Error& error) { fuzz::fail(error.what()); });
    FUZZ_CHECK(parsed && again == parameters);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = fuzz::as_text(data, size);
    Parameters parameters;
    const bool parsed = fuzz::returns_or_throws_error([&] { parameters = parse_settings(text, "fuzz"); },
                                                      [](const Error& error) {
                                                          const std::string message = error.what();
                                                          FUZZ_CHECK(message.rfind("corrupt settings fuzz: ", 0) == 0);
                                                          FUZZ_CHECK(fuzz::is_one_line(message));
                                                      });
    if (parsed) {
        // Loaded settings become load-time options: every name must be one the kernel's parser splits on.
        for (const auto& [name, value] : parameters)
            FUZZ_CHECK(is_parameter_name(name) && value.find('\n') == std::string::npos);
        check_round_trip("fuzz", parameters);
    }

    fuzz::Fields fields(text);
    const auto module = fields.next();
    if (!is_module_name(module))
        return 0;
    Parameters saved;
    while (!fields.empty()) {
        auto name = fields.next();
        auto value = fields.next();
        if (is_parameter_name(name) && unpassable_value_problem(value).empty())
            saved[name] = value;
    }
    check_round_trip(module, saved);
    return 0;
}
