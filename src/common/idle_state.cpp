// SPDX-License-Identifier: LGPL-2.1-or-later
// The idle clocks of kmod-reap, kept in /run/kmod-tools/idle.json.
#include "idle_state.hpp"

#include "atomic_file.hpp"
#include "error.hpp"
#include "json_output.hpp"
#include "owned_file.hpp"
#include "request_name.hpp"
#include "state_json.hpp"
#include "text_file.hpp"

namespace kmodtools {
namespace {
constexpr const char* state_file_name = "idle.json";
constexpr int state_format = 1;
} // namespace

std::string serialize(const IdleState& state)
{
    nlohmann::json modules = nlohmann::json::object();
    for (const auto& [name, entry] : state)
        modules[name] = {{"idle_since", entry.idle_since}, {"instance", entry.instance}};
    return json_text(nlohmann::json{{"format", state_format}, {"modules", modules}});
}

IdleState parse_idle_state(std::string_view text, const std::string& source)
{
    const CorruptError corrupt = [&](const std::string& why) {
        return Error::failure("corrupt state " + source + ": " + why);
    };
    const auto json = parse_state_object(text, corrupt);
    IdleState state;
    read_state_fields(corrupt, [&] {
        if (json_int64(json.at("format")) != state_format)
            throw corrupt("unknown format " + describe_json(json.at("format")));
        if (!json.at("modules").is_object())
            throw corrupt("modules is not an object");
        for (const auto& [name, entry] : json.at("modules").items()) {
            const auto idle_since = json_int64(entry.at("idle_since"));
            // quote_name: a name from a corrupt file may hold anything, a newline included.
            if (!idle_since || *idle_since < 0 || !is_module_name(name))
                throw corrupt("bad entry for " + quote_name(name));
            IdleEntry idle{*idle_since, entry.at("instance").get<std::string>()};
            state.emplace(name, std::move(idle));
        }
    });
    return state;
}

IdleState read_idle_state(const Paths& paths)
{
    auto dir = open_owned_directory_if_exists(paths.runtime_dir());
    if (!dir)
        return {};
    const auto path = paths.runtime_dir() / state_file_name;
    auto fd = open_owned_file(dir->get(), state_file_name, path);
    if (!fd)
        return {};
    return parse_idle_state(read_all(fd->get(), path, max_state_file_size), path.string());
}

void write_idle_state(const Paths& paths, const IdleState& state)
{
    replace_file_atomically(paths.runtime_dir() / state_file_name, serialize(state), 0644, 0755, InTheWay::set_aside);
}

} // namespace kmodtools
