// SPDX-License-Identifier: LGPL-2.1-or-later
// A libkmod context whose messages go through our logging (and so honour -q, --syslog, the journal).
#include "kmod_handles.hpp"

#include "error.hpp"
#include "log.hpp"

#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

namespace kmodtools {
namespace {

void forward_libkmod_log(void*, int priority, const char*, int, const char*, const char* format, va_list args)
{
    char buffer[1024];
    std::vsnprintf(buffer, sizeof buffer, format, args);
    std::string text(buffer);
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    const auto level = priority <= 3 ? log::Level::error : priority == 4 ? log::Level::warning : log::Level::debug;
    log::message(level, "libkmod: " + text);
}

} // namespace

KmodContext new_kmod_context(const Paths& paths, const std::filesystem::path& modules_dir)
{
    // libkmod's default configuration directories, under the root when tests redirect it.
    std::vector<std::string> config_dirs;
    std::vector<const char*> config_paths;
    if (paths.redirected()) {
        for (const char* dir : {"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d"})
            config_dirs.push_back(paths.under_root(dir).string());
        for (const auto& dir : config_dirs)
            config_paths.push_back(dir.c_str());
        config_paths.push_back(nullptr);
    }
    KmodContext ctx(kmod_new(modules_dir.c_str(), paths.redirected() ? config_paths.data() : nullptr));
    if (!ctx)
        throw Error::failure("cannot set up libkmod for " + modules_dir.string());
    kmod_set_log_fn(ctx.get(), forward_libkmod_log, nullptr);
    // libkmod's own debugging shows with -vv (our debug threshold), its warnings always.
    kmod_set_log_priority(ctx.get(), log::threshold() == log::Level::debug ? 7 : 4);
    return ctx;
}

void require_kernel_access(const Paths& paths)
{
    if (paths.redirected() && ::dlsym(RTLD_DEFAULT, test_shim_symbol) == nullptr)
        throw Error::failure(std::string("refusing to load or unload modules of the running kernel with $") +
                             root_environment_variable + " set (a test tree needs the test shim preloaded)");
}

} // namespace kmodtools
