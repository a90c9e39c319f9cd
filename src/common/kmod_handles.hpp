// SPDX-License-Identifier: LGPL-2.1-or-later
// Owning handles for libkmod objects, so no tool code calls *_unref() by hand.
#pragma once

#include "paths.hpp"

#include <libkmod.h>

#include <filesystem>
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

// kmod_new() for the module tree `modules_dir`, with modprobe.d read under the root of `paths` and
// libkmod's messages routed through log.hpp. Throws Error if libkmod cannot start.
KmodContext new_kmod_context(const Paths& paths, const std::filesystem::path& modules_dir);

// Whether this process may ask the kernel to insert or remove modules. A redirected root
// (KMOD_TOOLS_ROOT) is a test's fake tree: its module calls must reach the test shim that stands in
// for the kernel (tests/cli/shim), never the running kernel. Throws Error if that shim is missing.
void require_kernel_access(const Paths& paths);

// The symbol the test shim defines; its presence in the process is how the shim is recognised.
inline constexpr const char* test_shim_symbol = "kmod_tools_test_shim";

} // namespace kmodtools
