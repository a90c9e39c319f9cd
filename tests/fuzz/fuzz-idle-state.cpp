// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: kmod-reap's idle clocks (/run/kmod-tools/idle.json), parsed and written back.
//
// Two round trips per input: the input parsed as idle.json and, if it is one, written and parsed
// again; and the input split at NUL bytes into (module, idle_since, instance) entries.
#include "fuzz.hpp"
#include "request_name.hpp"
#include "idle_state.hpp"
#include "loaded_modules.hpp"

#include <algorithm>

using namespace kmodtools;

namespace {

bool same(const IdleState& a, const IdleState& b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
               return x.first == y.first && x.second.idle_since == y.second.idle_since &&
                      x.second.instance == y.second.instance;
           });
}

void check_round_trip(const IdleState& state)
{
    IdleState again;
    std::string text;
    fuzz::returns_or_throws_error([&] { text = serialize(state); },
                                  [&](const Error& error) { fuzz::fail(error.what()); });
    const bool parsed = fuzz::returns_or_throws_error([&] { again = parse_idle_state(text, "written"); },
                                                      [&](const Error& error) { fuzz::fail(error.what()); });
    FUZZ_CHECK(parsed && same(state, again));
}

// A state as kmod-reap writes it: module names, clocks that are not negative, instances from
// module_instance() ("ino:N", or "" for a module that vanished).
IdleState state_from_fields(std::string_view input)
{
    fuzz::Fields fields(input);
    IdleState state;
    while (!fields.empty()) {
        auto name = fields.next();
        const auto idle_since = fields.next_int64();
        const auto inode = fields.next_int64();
        if (is_module_name(name) && idle_since >= 0)
            state[name] = {idle_since, inode == 0 ? "" : "ino:" + std::to_string(static_cast<std::uint64_t>(inode))};
    }
    return state;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = fuzz::as_text(data, size);
    IdleState state;
    const bool parsed = fuzz::returns_or_throws_error([&] { state = parse_idle_state(text, "fuzz"); },
                                                      [](const Error& error) {
                                                          const std::string message = error.what();
                                                          FUZZ_CHECK(message.rfind("corrupt state fuzz: ", 0) == 0);
                                                          FUZZ_CHECK(fuzz::is_one_line(message));
                                                      });
    if (parsed) {
        for (const auto& [name, entry] : state)
            FUZZ_CHECK(is_module_name(name) && entry.idle_since >= 0);
        check_round_trip(state);
    }
    check_round_trip(state_from_fields(text));
    return 0;
}
