// SPDX-License-Identifier: LGPL-2.1-or-later
// A libkmod context whose messages go through our logging (and so honour -q, --syslog, the journal).
#include "kmod_handles.hpp"

#include "error.hpp"
#include "log.hpp"

#include <cstdarg>
#include <cstdio>
#include <string>

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

KmodContext new_kmod_context(const char* modules_dir, const char* const* config_paths)
{
    KmodContext ctx(kmod_new(modules_dir, config_paths));
    if (!ctx)
        throw Error::failure(std::string("cannot set up libkmod for ") +
                             (modules_dir != nullptr ? modules_dir : "the running kernel"));
    kmod_set_log_fn(ctx.get(), forward_libkmod_log, nullptr);
    // libkmod's own debugging shows with -vv (our debug threshold), its warnings always.
    kmod_set_log_priority(ctx.get(), log::threshold() == log::Level::debug ? 7 : 4);
    return ctx;
}

} // namespace kmodtools
