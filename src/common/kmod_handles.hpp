// SPDX-License-Identifier: LGPL-2.1-or-later
// Owning handles for libkmod objects, so no tool code calls *_unref() by hand.
#pragma once

#include <libkmod.h>

#include <memory>

namespace kmodtools {

struct KmodContextUnref {
    void operator()(kmod_ctx* ctx) const noexcept { kmod_unref(ctx); }
};
struct KmodModuleUnref {
    void operator()(kmod_module* module) const noexcept { kmod_module_unref(module); }
};
// Unrefs every module of the list and frees the list itself.
struct KmodModuleListUnref {
    void operator()(kmod_list* list) const noexcept { kmod_module_unref_list(list); }
};
// Frees a list returned by kmod_module_get_info() / kmod_module_get_versions().
struct KmodInfoListFree {
    void operator()(kmod_list* list) const noexcept { kmod_module_info_free_list(list); }
};

using KmodContext = std::unique_ptr<kmod_ctx, KmodContextUnref>;
using KmodModule = std::unique_ptr<kmod_module, KmodModuleUnref>;
using KmodModuleList = std::unique_ptr<kmod_list, KmodModuleListUnref>;
using KmodInfoList = std::unique_ptr<kmod_list, KmodInfoListFree>;

// kmod_new() with libkmod's messages routed through log.hpp. Throws Error if libkmod cannot start.
KmodContext new_kmod_context(const char* modules_dir = nullptr, const char* const* config_paths = nullptr);

} // namespace kmodtools
