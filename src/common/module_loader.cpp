// SPDX-License-Identifier: LGPL-2.1-or-later
// Resolving and loading modules as modprobe does, through libkmod.
#include "module_loader.hpp"

#include "error.hpp"
#include "kernel_knobs.hpp"
#include "log.hpp"
#include "request_name.hpp"
#include "text.hpp"
#include "text_file.hpp"

#include <cerrno>
#include <cstdio>
#include <set>

namespace kmodtools {
namespace {

// libkmod's probe reports each module it is about to insert (or would, in a dry run) through a plain
// function pointer without user data; this is how the announcements reach the probe that asked.
struct Announcement {
    KmodModule module;
    bool install = false;
    std::string options;
};
thread_local std::vector<Announcement>* announcements = nullptr;
// libkmod announces a module right before inserting it: the moment to say what is about to go in.
thread_local const std::function<void(const std::string&)>* announce_hook = nullptr;

void collect_announcement(kmod_module* module, bool install, const char* options)
{
    if (announcements != nullptr)
        announcements->push_back({KmodModule(kmod_module_ref(module)), install, options != nullptr ? options : ""});
    if (announce_hook != nullptr && *announce_hook)
        (*announce_hook)(kmod_module_get_name(module));
}

// Runs libkmod's probe with `flags`, collecting what it announces (in load order) into `announced`.
int probe_announcing(kmod_module* module, unsigned flags, const std::string& options,
                     std::vector<Announcement>& announced,
                     const std::function<void(const std::string&)>* before_insert = nullptr)
{
    announcements = &announced;
    announce_hook = (flags & KMOD_PROBE_DRY_RUN) != 0 ? nullptr : before_insert;
    const int err = kmod_module_probe_insert_module(module, flags, options.empty() ? nullptr : options.c_str(),
                                                    nullptr, nullptr, collect_announcement);
    announcements = nullptr;
    announce_hook = nullptr;
    return err;
}

bool is_in_kernel(kmod_module* module)
{
    const int state = kmod_module_get_initstate(module);
    return state == KMOD_MODULE_LIVE || state == KMOD_MODULE_COMING || state == KMOD_MODULE_BUILTIN;
}

std::string insert_error_text(const Paths& paths, int errnum)
{
    switch (errnum) {
    case ENOENT:
        return "Unknown symbol in module, or unknown parameter (see dmesg)";
    case EPERM:
        try {
            if (read_modules_disabled(paths))
                return "module loading is disabled (kernel.modules_disabled=1)";
        } catch (const Error&) {
        }
        return errno_text(errnum) + " (loading modules needs CAP_SYS_MODULE)";
    case ENOEXEC:
    case EINVAL:
        return errno_text(errnum) + " (bad vermagic or module format? see dmesg)";
    default:
        return errno_text(errnum);
    }
}

// The plan of a request (ModuleLoader::plan), built member by member.
class PlanBuilder {
public:
    explicit PlanBuilder(bool as_if_unloaded) : as_if_unloaded_(as_if_unloaded) {}

    void add(kmod_module* module, PlanRole role, const std::string& via)
    {
        std::string name = kmod_module_get_name(module);
        if (!seen_.insert(name).second)
            return;
        const char* install = kmod_module_get_install_commands(module);
        const bool present = is_in_kernel(module);
        members_.push_back({name, role, via, present, install != nullptr && *install != '\0'});
        // A requested module that is there already is not probed at all (libkmod returns before its
        // dependencies and softdeps): nothing of it would be inserted.
        if (role == PlanRole::requested && present && !as_if_unloaded_)
            return;
        // A dependency belongs to the member whose allow would bring it: the requested module or
        // softdep it hangs off, not the dependency between them.
        const std::string owner = role == PlanRole::dependency ? via : name;
        KmodModuleList dependencies(kmod_module_get_dependencies(module));
        for (kmod_list* it = dependencies.get(); it != nullptr; it = kmod_list_next(dependencies.get(), it)) {
            KmodModule dependency(kmod_module_get_module(it));
            add(dependency.get(), PlanRole::dependency, owner);
        }
        add_softdeps(module, name);
    }

    std::vector<PlanMember> take() { return std::move(members_); }

private:
    void add_softdeps(kmod_module* module, const std::string& name)
    {
        kmod_list* pre = nullptr;
        kmod_list* post = nullptr;
        if (kmod_module_get_softdeps(module, &pre, &post) < 0)
            return;
        KmodModuleList pre_list(pre);
        KmodModuleList post_list(post);
        for (const auto* list : {&pre_list, &post_list})
            for (kmod_list* it = list->get(); it != nullptr; it = kmod_list_next(list->get(), it)) {
                KmodModule softdep(kmod_module_get_module(it));
                add(softdep.get(), PlanRole::softdep, name);
            }
    }

    bool as_if_unloaded_;
    std::set<std::string> seen_;
    std::vector<PlanMember> members_;
};

} // namespace

std::string_view to_string(LoadStatus status)
{
    switch (status) {
    case LoadStatus::inserted:
        return "inserted";
    case LoadStatus::already_loaded:
        return "already-loaded";
    case LoadStatus::builtin:
        return "builtin";
    case LoadStatus::blacklisted:
        return "blacklisted";
    case LoadStatus::failed:
        return "failed";
    }
    return "unknown";
}

ModuleLoader::ModuleLoader(const Paths& paths, const std::filesystem::path& modules_dir)
    : paths_(paths), modules_dir_(modules_dir)
{
    ctx_ = new_kmod_context(paths, modules_dir);
    // Load the indexes once for the whole batch. Without them libkmod opens each index per lookup,
    // which still works (an empty modules.builtin.bin, as depmod writes for a tree without
    // modules.builtin, makes the preload fail though every lookup would succeed).
    if (const int err = kmod_load_resources(ctx_.get()); err < 0)
        log::debug("cannot preload the module indexes in " + modules_dir.string() + ": " + errno_text(-err));
}

KmodModuleList ModuleLoader::lookup(std::string_view name)
{
    const std::string alias(name);
    kmod_list* list = nullptr;
    const int err = kmod_module_new_from_lookup(ctx_.get(), alias.c_str(), &list);
    if (err < 0)
        throw Error::system(-err, "cannot look up '" + alias + "'");
    return KmodModuleList(list);
}

std::vector<PlanMember> ModuleLoader::plan(std::string_view name, PlanScope scope)
{
    PlanBuilder builder(scope == PlanScope::from_scratch);
    const auto list = lookup(name);
    for (kmod_list* it = list.get(); it != nullptr; it = kmod_list_next(list.get(), it)) {
        KmodModule module(kmod_module_get_module(it));
        builder.add(module.get(), PlanRole::requested, "");
    }
    return builder.take();
}

std::vector<std::string> ModuleLoader::all_modules() const
{
    const auto file = modules_dir_ / "modules.dep";
    std::vector<std::string> names;
    for_each_line(read_text_file(file), [&](std::string_view line, std::size_t) {
        // "kernel/fs/xfs/xfs.ko.xz: kernel/lib/libcrc32c.ko.xz"
        const auto colon = line.find(':');
        if (colon == std::string_view::npos)
            return;
        auto path = line.substr(0, colon);
        path = path.substr(path.rfind('/') + 1);
        const auto ko = path.find(".ko");
        if (ko == std::string_view::npos || ko == 0)
            return;
        names.push_back(normalize_module_name(path.substr(0, ko)));
    });
    return names;
}

std::vector<ResolvedModule> ModuleLoader::resolve(std::string_view name)
{
    std::vector<ResolvedModule> resolved;
    const auto list = lookup(name);
    for (kmod_list* it = list.get(); it != nullptr; it = kmod_list_next(list.get(), it)) {
        kmod_module* module = kmod_module_get_module(it);
        KmodModule owner(module);
        ResolvedModule entry;
        entry.name = kmod_module_get_name(module);
        const char* path = kmod_module_get_path(module);
        entry.path = path != nullptr ? path : "";
        const int state = kmod_module_get_initstate(module);
        entry.builtin = state == KMOD_MODULE_BUILTIN;
        entry.loaded = state == KMOD_MODULE_LIVE || state == KMOD_MODULE_COMING;
        const char* install = kmod_module_get_install_commands(module);
        entry.install_command = install != nullptr ? install : "";
        KmodModuleList dependencies(kmod_module_get_dependencies(module));
        for (kmod_list* dep = dependencies.get(); dep != nullptr; dep = kmod_list_next(dependencies.get(), dep)) {
            KmodModule dependency(kmod_module_get_module(dep));
            entry.dependencies.emplace_back(kmod_module_get_name(dependency.get()));
        }
        resolved.push_back(std::move(entry));
    }
    return resolved;
}

namespace {

// Whether a module file declares parameter `name`. modinfo's parm and parmtype lines name most
// parameters, but not those declared with module_param_call() and no description (lockd's
// nlm_timeout); their names are still in the file as NUL-terminated strings, which an uncompressed
// file shows. In a compressed file they cannot be seen, so such a name is given the benefit of the
// doubt: the kernel ignores an unknown parameter with a log line, it does not fail the load.
bool declares_parameter(kmod_module* module, const std::string& name)
{
    kmod_list* raw = nullptr;
    if (kmod_module_get_info(module, &raw) >= 0) {
        KmodInfoList info(raw);
        for (kmod_list* it = info.get(); it != nullptr; it = kmod_list_next(info.get(), it)) {
            const std::string_view key = kmod_module_info_get_key(it);
            const std::string_view value = kmod_module_info_get_value(it);
            if ((key == "parm" || key == "parmtype") && value.substr(0, value.find(':')) == name)
                return true;
        }
    }
    const char* path = kmod_module_get_path(module);
    if (path == nullptr)
        return false;
    const std::string_view file_name = path;
    if (file_name.size() < 3 || file_name.substr(file_name.size() - 3) != ".ko")
        return true;
    try {
        const std::string content = read_text_file(path);
        return content.find(std::string(1, '\0') + name + std::string(1, '\0')) != std::string::npos;
    } catch (const Error&) {
        return true;
    }
}

std::string join_options(const std::string& first, const std::string& second)
{
    if (first.empty() || second.empty())
        return first + second;
    return first + " " + second;
}

} // namespace

int ModuleLoader::probe(kmod_module* module, bool dry_run, const std::string& options, LoadResult& result,
                        const std::function<void(const std::string&)>& before_insert)
{
    std::vector<Announcement> announced;
    // As modprobe: the blacklist applies to aliases only; a dry run announces without inserting.
    unsigned flags = KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY;
    if (dry_run)
        flags |= KMOD_PROBE_DRY_RUN;
    else
        require_kernel_access(paths_);
    const int err = probe_announcing(module, flags, options, announced, &before_insert);

    // What went in is what was announced and is in the kernel now. A concurrent loader of the same
    // module (the kernel runs many helpers at once) makes the kernel answer EEXIST, which libkmod
    // hides; such a module was loaded on demand either way.
    for (const auto& announcement : announced)
        if (dry_run || is_in_kernel(announcement.module.get()))
            result.inserted.emplace_back(kmod_module_get_name(announcement.module.get()));
    if (err < 0) {
        // libkmod stops at the first required module that fails: the last one announced.
        const std::string failed =
            announced.empty() ? kmod_module_get_name(module) : kmod_module_get_name(announced.back().module.get());
        result.status = LoadStatus::failed;
        result.error = "could not insert '" + failed + "': " + insert_error_text(paths_, -err);
    }
    return err;
}

LoadResult ModuleLoader::load(std::string_view name, bool dry_run, const ExtraOptions& extra)
{
    LoadResult result;
    const auto list = lookup(name);
    if (!list) {
        result.error = "no module or alias matches '" + std::string(name) + "' in " + modules_dir_.string();
        return result;
    }

    bool any_builtin = false;
    bool any_blacklisted = false;
    for (kmod_list* it = list.get(); it != nullptr; it = kmod_list_next(list.get(), it)) {
        KmodModule module(kmod_module_get_module(it));
        const std::string module_name = kmod_module_get_name(module.get());
        result.modules.push_back(module_name);

        // libkmod gives extra options to the requested module only. Dependencies with saved
        // settings are therefore loaded first, each with its own; the probe then finds them in.
        std::string own_saved;
        if (extra.has_saved && extra.saved) {
            std::vector<Announcement> plan;
            probe_announcing(module.get(), KMOD_PROBE_DRY_RUN | KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY, {}, plan);
            for (const auto& step : plan) {
                const std::string step_name = kmod_module_get_name(step.module.get());
                if (step.install || !extra.has_saved(step_name))
                    continue;
                kmod_module* step_module = step.module.get();
                const auto saved = extra.saved(
                    step_name, [step_module](const std::string& parameter) {
                        return declares_parameter(step_module, parameter);
                    });
                if (step_name == module_name) {
                    own_saved = saved;
                    continue;
                }
                if (saved.empty())
                    continue;
                if (probe(step.module.get(), dry_run, saved, result, extra.before_insert) < 0)
                    return result;
            }
        }

        const int err =
            probe(module.get(), dry_run, join_options(own_saved, extra.command_line), result, extra.before_insert);
        if (err < 0)
            return result;
        if (err == KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY)
            any_blacklisted = true;
        else if (kmod_module_get_initstate(module.get()) == KMOD_MODULE_BUILTIN)
            any_builtin = true;
    }
    if (!result.inserted.empty())
        result.status = LoadStatus::inserted;
    else if (any_blacklisted)
        result.status = LoadStatus::blacklisted;
    else if (any_builtin)
        result.status = LoadStatus::builtin;
    else
        result.status = LoadStatus::already_loaded;
    return result;
}

std::string ModuleLoader::show_depends(std::string_view name)
{
    const auto list = lookup(name);
    if (!list)
        throw Error::failure("no module or alias matches '" + std::string(name) + "' in " + modules_dir_.string());
    std::string plan;
    for (kmod_list* it = list.get(); it != nullptr; it = kmod_list_next(list.get(), it)) {
        KmodModule module(kmod_module_get_module(it));
        std::vector<Announcement> announced;
        const int err = probe_announcing(
            module.get(), KMOD_PROBE_IGNORE_LOADED | KMOD_PROBE_DRY_RUN | KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY, {},
            announced);
        // The same lines as modprobe's print_action().
        for (const auto& announcement : announced) {
            kmod_module* announced_module = announcement.module.get();
            if (announcement.install) {
                plan += "install " + std::string(kmod_module_get_install_commands(announced_module)) + " " +
                        announcement.options + "\n";
            } else if (const char* path = kmod_module_get_path(announced_module)) {
                plan += "insmod " + std::string(path) + " " + announcement.options + "\n";
            } else if (kmod_module_get_initstate(announced_module) == KMOD_MODULE_BUILTIN) {
                plan += "builtin " + std::string(kmod_module_get_name(announced_module)) + "\n";
            }
        }
        if (err < 0)
            throw Error::system(-err, "cannot resolve the dependencies of '" +
                                          std::string(kmod_module_get_name(module.get())) + "'");
    }
    return plan;
}

} // namespace kmodtools
