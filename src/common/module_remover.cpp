// SPDX-License-Identifier: LGPL-2.1-or-later
// Removing modules through libkmod.
#include "module_remover.hpp"

#include "error.hpp"

#include <cerrno>

namespace kmodtools {

ModuleRemover::ModuleRemover(const Paths& paths) : paths_(paths) {}

kmod_ctx* ModuleRemover::ctx()
{
    if (!ctx_)
        ctx_ = new_kmod_context(paths_, paths_.modules_dir(paths_.kernel_release()));
    return ctx_.get();
}

RemoveResult ModuleRemover::remove(const std::string& name)
{
    require_kernel_access(paths_);
    kmod_module* raw = nullptr;
    if (const int err = kmod_module_new_from_name(ctx(), name.c_str(), &raw); err < 0)
        return {RemoveOutcome::failed, "cannot look up '" + name + "': " + errno_text(-err)};
    KmodModule module(raw);
    // NOLOG: libkmod would log every refusal as an error, a busy or gone module too, which is none.
    const int err = kmod_module_remove_module(module.get(), KMOD_REMOVE_NOWAIT | KMOD_REMOVE_NOLOG);
    if (err == 0)
        return {RemoveOutcome::removed, {}};
    if (err == -EBUSY || err == -EAGAIN)
        return {RemoveOutcome::busy, {}};
    if (err == -ENOENT)
        return {RemoveOutcome::gone, {}};
    return {RemoveOutcome::failed, "cannot unload '" + name + "': " + errno_text(-err) +
                                       (err == -EPERM ? " (unloading modules needs CAP_SYS_MODULE)" : "")};
}

std::vector<std::string> ModuleRemover::dependencies(const std::string& name)
{
    std::vector<std::string> names;
    kmod_module* raw = nullptr;
    if (kmod_module_new_from_name(ctx(), name.c_str(), &raw) < 0)
        return names;
    KmodModule module(raw);
    auto add = [&names](kmod_list* raw_list) {
        KmodModuleList list(raw_list);
        for (kmod_list* it = list.get(); it != nullptr; it = kmod_list_next(list.get(), it)) {
            KmodModule dependency(kmod_module_get_module(it));
            names.emplace_back(kmod_module_get_name(dependency.get()));
        }
    };
    add(kmod_module_get_dependencies(module.get()));
    kmod_list* pre = nullptr;
    kmod_list* post = nullptr;
    if (kmod_module_get_softdeps(module.get(), &pre, &post) == 0) {
        add(pre);
        add(post);
    }
    return names;
}

} // namespace kmodtools
