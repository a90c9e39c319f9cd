// SPDX-License-Identifier: LGPL-2.1-or-later
// Resolving and loading modules exactly as modprobe does, through libkmod, in process.
#pragma once

#include "kmod_handles.hpp"
#include "paths.hpp"
#include "policy.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

// One module a name resolves to.
struct ResolvedModule {
    std::string name;
    std::string path;            // empty for a built-in module
    bool builtin = false;
    bool loaded = false;         // live or coming up in the running kernel
    std::string install_command; // a modprobe.d "install" line replaces insertion
    std::vector<std::string> dependencies; // from modules.dep, in load order
};

enum class LoadStatus {
    inserted,       // something was inserted (or, in a dry run, would be)
    already_loaded, // everything was there already
    builtin,        // compiled into the kernel
    blacklisted,    // requested through an alias that modprobe.d blacklists: not loaded, as modprobe does
    failed,
};

struct LoadResult {
    LoadStatus status = LoadStatus::failed;
    std::vector<std::string> modules;  // what the name resolved to
    std::vector<std::string> inserted; // in load order: inserted now (dry run: would be inserted)
    std::string error;                 // one line, when failed
};

std::string_view to_string(LoadStatus status);

// Load-time options beyond modprobe.d's for the modules of one request.
struct ExtraOptions {
    std::string command_line; // for the requested module(s): given after the name on the command line
    // Saved settings: whether `module` has any (cheap; asked for every module about to be inserted),
    // and its options, given a test of whether the module file declares a parameter. Unset: none.
    std::function<bool(const std::string& module)> has_saved;
    std::function<std::string(const std::string& module, const std::function<bool(const std::string&)>& declares)>
        saved;
    // Called just before each module is inserted (or its install command run), never in a dry run:
    // where the intent is written that a kill before its record cannot lose (load_intent.hpp).
    std::function<void(const std::string& module)> before_insert;
};

enum class PlanScope { now, from_scratch };

class ModuleLoader {
public:
    // `modules_dir` is /lib/modules/RELEASE (or another tree for plans); `paths` roots modprobe.d.
    ModuleLoader(const Paths& paths, const std::filesystem::path& modules_dir);

    const std::filesystem::path& modules_dir() const { return modules_dir_; }

    // The modules `name` (a module or alias) resolves to; empty if nothing matches.
    std::vector<ResolvedModule> resolve(std::string_view name);

    // Everything a load of `name` would insert, for the policy to judge before anything is: the
    // modules it resolves to, each followed by its hard dependencies, and the softdep pre/post
    // modules of all of them (with theirs), each module once, where it is first met. A requested
    // module that is loaded already brings nothing: modprobe would not probe it.
    // With PlanScope::from_scratch, what it would insert on a kernel where none of it is loaded yet
    // (for a suggestion that must hold after a reboot).
    std::vector<PlanMember> plan(std::string_view name, PlanScope scope = PlanScope::now);

    // The name of every module of the tree (from modules.dep). Throws Error.
    std::vector<std::string> all_modules() const;

    // Loads `name` with its dependencies, soft dependencies and install commands, as modprobe would.
    // `extra` options come after modprobe.d's, so they win: saved settings, then the command line.
    // Failures are reported in the result, not thrown.
    LoadResult load(std::string_view name, bool dry_run, const ExtraOptions& extra = {});

    // What `modprobe --show-depends NAME` prints: "insmod PATH OPTIONS", "builtin NAME", "install CMD".
    // Throws Error when nothing matches.
    std::string show_depends(std::string_view name);

private:
    KmodModuleList lookup(std::string_view name);
    // Probes one module (with its dependencies), collecting what was announced and what went in.
    int probe(kmod_module* module, bool dry_run, const std::string& options, LoadResult& result,
              const std::function<void(const std::string&)>& before_insert);

    const Paths& paths_;
    std::filesystem::path modules_dir_;
    KmodContext ctx_;
};

} // namespace kmodtools
