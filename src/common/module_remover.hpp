// SPDX-License-Identifier: LGPL-2.1-or-later
// Removing modules as rmmod does, through libkmod, never waiting for a module in use.
#pragma once

#include "kmod_handles.hpp"
#include "paths.hpp"

#include <string>
#include <vector>

namespace kmodtools {

enum class RemoveOutcome { removed, busy, gone, failed };

struct RemoveResult {
    RemoveOutcome outcome = RemoveOutcome::failed;
    std::string error; // one line, when failed
};

class ModuleRemover {
public:
    // The module tree of the running kernel under `paths` (its modules.dep and modprobe.d softdeps).
    explicit ModuleRemover(const Paths& paths);

    // delete_module() with O_NONBLOCK: a module in use is reported busy, not waited for.
    RemoveResult remove(const std::string& name);

    // modules.dep dependencies and soft dependencies: what loading `name` pulled in.
    std::vector<std::string> dependencies(const std::string& name);

private:
    // Set up on first use: most sweeps remove nothing, and libkmod reads its configuration on start.
    kmod_ctx* ctx();

    const Paths& paths_;
    KmodContext ctx_;
};

} // namespace kmodtools
