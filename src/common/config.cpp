// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading the kmod-tools configuration and its layers.
#include "config.hpp"

#include "duration.hpp"
#include "error.hpp"
#include "module_pattern.hpp"
#include "owned_file.hpp"
#include "text.hpp"
#include "text_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace kmodtools {
namespace {

// Config files may be symlinks (config management does that), but what they point to must be safe.
std::string read_trusted_config(const std::filesystem::path& path, bool& exists)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        if (errno == ENOENT) {
            exists = false;
            return {};
        }
        throw Error::system(errno, "cannot open " + path.string());
    }
    exists = true;
    check_owned(fd.get(), path, false);
    return read_all(fd.get(), path);
}

// The files load_config() reads, in order, that exist now.
std::vector<std::filesystem::path> config_files(const Paths& paths, ConfigLayers layers);

} // namespace

std::string SettingOrigin::describe() const
{
    if (file.empty())
        return "built-in default";
    return file.string() + ":" + std::to_string(line);
}

void apply_config_text(Config& config, std::string_view text, const std::filesystem::path& source)
{
    for_each_line(text, [&](std::string_view raw_line, std::size_t line_number) {
        auto problem = [&](const std::string& why) {
            return Error::failure(source.string() + ":" + std::to_string(line_number) + ": " + why);
        };

        const auto line = trim(raw_line);
        if (line.empty() || line.front() == '#')
            return;
        for (unsigned char c : line)
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                throw problem("control character in line");
        const auto equals = line.find('=');
        if (equals == std::string_view::npos)
            throw problem("expected 'key = value', found '" + std::string(line) + "'");
        const auto key = trim(line.substr(0, equals));
        const auto value = trim(line.substr(equals + 1));

        if (key == "unload_delay") {
            std::string why;
            const auto delay = parse_duration(value, &why);
            if (!delay)
                throw problem("bad unload_delay '" + std::string(value) + "': " + why);
            config.unload_delay = *delay;
            config.unload_delay_origin = {source, line_number};
        } else if (key == "keep") {
            const auto patterns = split_words(value);
            if (patterns.empty())
                config.keep.clear();
            for (const auto pattern : patterns) {
                if (const auto why = pattern_problem(pattern); !why.empty())
                    throw problem("bad keep pattern '" + std::string(pattern) + "': " + why);
                config.keep.emplace_back(pattern);
            }
        } else if (key == "deny" || key == "allow") {
            auto& rules = key == "deny" ? config.deny : config.allow;
            const auto patterns = split_words(value);
            if (patterns.empty())
                rules.clear();
            for (const auto pattern : patterns) {
                if (const auto why = pattern_problem(pattern); !why.empty())
                    throw problem("bad " + std::string(key) + " pattern '" + std::string(pattern) + "': " + why);
                rules.push_back({std::string(pattern), {source, line_number}});
            }
        } else if (key.empty()) {
            throw problem("missing key before '='");
        } else {
            throw problem("unknown key '" + std::string(key) + "'");
        }
    });
}

namespace {

std::vector<std::filesystem::path> config_files(const Paths& paths, ConfigLayers layers)
{
    std::vector<std::filesystem::path> files;
    std::error_code error;
    if (std::filesystem::exists(paths.config_file(), error))
        files.push_back(paths.config_file());

    std::vector<std::filesystem::path> dropins;
    const auto dropin_dir = paths.config_dropin_dir();
    for (std::filesystem::directory_iterator it(dropin_dir, error), end; !error && it != end; it.increment(error)) {
        const auto name = it->path().filename().string();
        // Hidden files are editors' and kmod-sysctl's temporary files.
        if (name.front() != '.' && it->path().extension() == ".conf")
            dropins.push_back(it->path());
    }
    if (error && error != std::errc::no_such_file_or_directory)
        throw Error::system(error.value(), "cannot read directory " + dropin_dir.string());
    std::sort(dropins.begin(), dropins.end());
    files.insert(files.end(), dropins.begin(), dropins.end());

    if (layers == ConfigLayers::all && std::filesystem::exists(paths.runtime_config_file(), error))
        files.push_back(paths.runtime_config_file());
    return files;
}

} // namespace

Config load_config(const Paths& paths, ConfigLayers layers)
{
    Config config;
    for (const auto& file : config_files(paths, layers)) {
        std::string text;
        if (file == paths.runtime_config_file()) {
            // Our own runtime state: never through a symlink.
            auto dir = open_owned_directory_if_exists(paths.runtime_dir());
            if (!dir)
                continue;
            auto fd = open_owned_file(dir->get(), file.filename().string(), file);
            if (!fd)
                continue;
            text = read_all(fd->get(), file);
        } else {
            bool exists = false;
            text = read_trusted_config(file, exists);
            if (!exists) // removed since config_files() listed it
                continue;
        }
        apply_config_text(config, text, file);
    }
    return config;
}

} // namespace kmodtools
