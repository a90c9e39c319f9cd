// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of kmod-reap's sweep against fake /proc/modules and /sys/module trees and a fake clock:
// idle clocks start, reset on use and expire; keep list; bound drivers; cascade; named modules.
#include "fake_root.hpp"
#include "reaper.hpp"
#include "settings.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;
using std::chrono::seconds;

namespace {

// A fake kernel: /proc/modules text and /sys/module entries kept in step.
struct FakeKernel : FakeRoot {
    std::vector<LoadedModule> modules;

    // The sweep reads /proc/modules (here: `modules`), and of /sys/module only the directory's inode
    // (which load it is) and drivers/ (bound devices).
    void load(const std::string& name, int refcount = 0, std::vector<std::string> holders = {})
    {
        LoadedModule module;
        module.name = name;
        module.refcount = refcount;
        module.holders = std::move(holders);
        modules.push_back(module);
        mkdir("/sys/module/" + name);
    }
    LoadedModule& get(const std::string& name)
    {
        return *std::find_if(modules.begin(), modules.end(), [&](const LoadedModule& m) { return m.name == name; });
    }
    void unload(const std::string& name)
    {
        modules.erase(std::remove_if(modules.begin(), modules.end(),
                                     [&](const LoadedModule& m) { return m.name == name; }),
                      modules.end());
        std::filesystem::remove_all(*this / ("/sys/module/" + name));
        for (auto& module : modules) // what it held, it holds no more
            module.holders.erase(std::remove(module.holders.begin(), module.holders.end(), name),
                                 module.holders.end());
    }
};

// Records as kmod-request writes them right after loading: naming this load of each module.
std::map<std::string, OnDemandRecord> on_demand(const FakeKernel& kernel, std::initializer_list<const char*> names)
{
    std::map<std::string, OnDemandRecord> records;
    for (const char* name : names)
        records[name] = {name, name, Requester::kernel, 0, 0, module_instance(kernel.paths(), name), std::nullopt};
    return records;
}

const Verdict& verdict_of(const SweepPlan& plan, const std::string& module)
{
    return *std::find_if(plan.verdicts.begin(), plan.verdicts.end(),
                         [&](const Verdict& v) { return v.module == module; });
}

SweepOptions at(std::int64_t now, seconds delay = seconds(120))
{
    SweepOptions options;
    options.now = now;
    options.unload_delay = delay;
    return options;
}

} // namespace

TEST_CASE("the idle clock starts at the first idle sighting and expires after the delay")
{
    FakeKernel kernel;
    kernel.load("minix");
    const auto records = on_demand(kernel, {"minix"});

    auto plan = plan_sweep(kernel.paths(), kernel.modules, records, {}, at(1000));
    CHECK(verdict_of(plan, "minix").action == Action::keep);
    CHECK(verdict_of(plan, "minix").reason == "idle 0 s of 120 s");
    REQUIRE(plan.next_state.count("minix") == 1);
    CHECK(plan.next_state.at("minix").idle_since == 1000);

    plan = plan_sweep(kernel.paths(), kernel.modules, records, plan.next_state, at(1119));
    CHECK(verdict_of(plan, "minix").reason == "idle 119 s of 120 s");
    CHECK(plan.next_state.at("minix").idle_since == 1000);

    plan = plan_sweep(kernel.paths(), kernel.modules, records, plan.next_state, at(1120));
    CHECK(verdict_of(plan, "minix").action == Action::unload);
    CHECK(verdict_of(plan, "minix").reason == "idle 120 s");
}

TEST_CASE("use resets the idle clock")
{
    FakeKernel kernel;
    kernel.load("minix");
    const auto records = on_demand(kernel, {"minix"});
    auto plan = plan_sweep(kernel.paths(), kernel.modules, records, {}, at(1000));

    kernel.get("minix").refcount = 1; // mounted
    plan = plan_sweep(kernel.paths(), kernel.modules, records, plan.next_state, at(1100));
    CHECK(verdict_of(plan, "minix").reason == "in use (1 reference)");
    CHECK(plan.next_state.count("minix") == 0);

    kernel.get("minix").refcount = 0; // unmounted
    plan = plan_sweep(kernel.paths(), kernel.modules, records, plan.next_state, at(1200));
    CHECK(verdict_of(plan, "minix").reason == "idle 0 s of 120 s");
    CHECK(plan.next_state.at("minix").idle_since == 1200);
}

TEST_CASE("a reload of the module starts a new clock, and a clock from the future is not trusted")
{
    FakeKernel kernel;
    kernel.load("minix");
    const auto records = on_demand(kernel, {"minix"});
    const auto instance = module_instance(kernel.paths(), "minix");
    REQUIRE(instance.rfind("ino:", 0) == 0);
    IdleState previous{{"minix", {100, "ino:1"}}}; // an earlier load
    auto plan = plan_sweep(kernel.paths(), kernel.modules, records, previous, at(1000));
    CHECK(plan.next_state.at("minix").idle_since == 1000);
    CHECK(plan.next_state.at("minix").instance == instance);

    previous = {{"minix", {5000, instance}}};
    plan = plan_sweep(kernel.paths(), kernel.modules, records, previous, at(1000));
    CHECK(plan.next_state.at("minix").idle_since == 1000);
}

TEST_CASE("a named run leaves the idle clocks of other modules running")
{
    FakeKernel kernel;
    kernel.load("minix");
    kernel.load("dummy");
    auto options = at(1000);
    options.named = {"dummy"};
    const IdleState previous{{"minix", {900, module_instance(kernel.paths(), "minix")}}};
    const auto plan = plan_sweep(kernel.paths(), kernel.modules, on_demand(kernel, {"minix"}), previous, options);
    REQUIRE(plan.next_state.count("minix") == 1);
    CHECK(plan.next_state.at("minix").idle_since == 900);
    CHECK(verdict_of(plan, "dummy").action == Action::unload);
}

TEST_CASE("delay 0 unloads every idle candidate now")
{
    FakeKernel kernel;
    kernel.load("minix");
    const auto plan = plan_sweep(kernel.paths(), kernel.modules, on_demand(kernel, {"minix"}), {}, at(1000, seconds(0)));
    CHECK(verdict_of(plan, "minix").action == Action::unload);
}

TEST_CASE("who is never a candidate")
{
    FakeKernel kernel;
    kernel.load("by_hand");
    kernel.load("kept_dm");
    kernel.load("forever");
    kernel.get("forever").permanent = true;
    kernel.load("e1000");
    kernel.symlink("../../../../devices/pci0000:00/0000:00:03.0", "/sys/module/e1000/drivers/pci:e1000/0000:00:03.0");
    kernel.load("holder_target", 0, {"xfs"});
    kernel.load("reloaded");
    auto records = on_demand(kernel, {"kept_dm", "forever", "e1000", "holder_target", "reloaded"});
    records["reloaded"].instance = "ino:1"; // recorded for an earlier load of the module

    kernel.load("dummy");
    records["dummy"] = on_demand(kernel, {"dummy"}).at("dummy");
    auto options = at(1000, seconds(0));
    options.keep = {"kept-*"};
    options.read_network_interfaces = [] {
        return std::map<std::string, std::vector<std::string>>{{"dummy", {"dummy0", "dummy1"}}};
    };
    const auto plan = plan_sweep(kernel.paths(), kernel.modules, records, {}, options);
    CHECK(verdict_of(plan, "by_hand").reason == "not loaded on demand");
    CHECK(verdict_of(plan, "kept_dm").reason == "keep list (kept-*)");
    CHECK(verdict_of(plan, "forever").reason == "permanent (it has no exit function)");
    CHECK(verdict_of(plan, "e1000").reason == "bound to 0000:00:03.0");
    CHECK(verdict_of(plan, "holder_target").reason == "in use by xfs");
    CHECK(verdict_of(plan, "reloaded").reason == "not loaded on demand");
    CHECK(verdict_of(plan, "dummy").reason == "has network interfaces dummy0, dummy1");
    for (const auto& verdict : plan.verdicts)
        CHECK_MESSAGE(verdict.action == Action::keep, verdict.module);

    SUBCASE("--all makes modules loaded by hand candidates, but not the rest")
    {
        options.all = true;
        const auto all = plan_sweep(kernel.paths(), kernel.modules, records, {}, options);
        CHECK(verdict_of(all, "by_hand").action == Action::unload);
        CHECK(verdict_of(all, "reloaded").action == Action::unload);
        CHECK(verdict_of(all, "kept_dm").action == Action::keep);
        CHECK(verdict_of(all, "e1000").action == Action::keep);
        CHECK(verdict_of(all, "forever").action == Action::keep);
    }
    SUBCASE("a named module goes whatever its record, keep list or binding, but never if permanent or in use")
    {
        options.named = {"by-hand", "kept_dm", "e1000", "forever", "holder_target", "dummy"};
        const auto named = plan_sweep(kernel.paths(), kernel.modules, records, {}, options);
        CHECK(verdict_of(named, "by_hand").action == Action::unload);
        CHECK(verdict_of(named, "kept_dm").action == Action::unload);
        CHECK(verdict_of(named, "e1000").action == Action::unload);
        CHECK(verdict_of(named, "dummy").action == Action::unload);
        CHECK(verdict_of(named, "forever").action == Action::keep);
        CHECK(verdict_of(named, "holder_target").action == Action::keep);
        CHECK(verdict_of(named, "reloaded").reason == "not named");
    }
}

TEST_CASE("execution: settings first, removal, cascade to what the removal freed")
{
    FakeKernel kernel;
    kernel.load("crc32c_generic", 1);
    kernel.load("libcrc32c", 0, {"xfs"});
    kernel.load("xfs");
    kernel.load("by_hand_dep", 0, {"xfs"});
    kernel.load("unrelated", 1);
    const auto records = on_demand(kernel, {"crc32c_generic", "libcrc32c", "xfs", "unrelated"});
    const auto options = at(1000, seconds(0));
    const auto plan = plan_sweep(kernel.paths(), kernel.modules, records, {}, options);

    std::vector<std::string> saved;
    std::vector<std::string> removed;
    SweepHooks hooks;
    hooks.save_settings = [&](const std::string& module, const std::optional<Parameters>&) {
        saved.push_back(module);
        return std::string();
    };
    hooks.remove = [&](const std::string& module) {
        removed.push_back(module);
        kernel.unload(module);
        if (module == "libcrc32c") // its crypto transform held crc32c_generic
            kernel.get("crc32c_generic").refcount = 0;
        if (module == "xfs") // meanwhile, something else lets go of an unrelated module
            kernel.get("unrelated").refcount = 0;
        return RemoveResult{RemoveOutcome::removed, {}};
    };
    hooks.read_loaded = [&] { return kernel.modules; };
    hooks.dependencies_of = [](const std::string& module) {
        if (module == "xfs")
            return std::vector<std::string>{"libcrc32c", "by_hand_dep"};
        if (module == "libcrc32c") // softdep pre: crc32c
            return std::vector<std::string>{"crc32c_generic"};
        return std::vector<std::string>{};
    };

    const auto report = execute_sweep(kernel.paths(), plan, records, options, hooks);
    CHECK(removed == std::vector<std::string>{"xfs", "libcrc32c", "crc32c_generic"});
    // "unrelated" became idle during the sweep, but no removal freed it: its clock starts next time.
    CHECK(std::any_of(kernel.modules.begin(), kernel.modules.end(),
                      [](const LoadedModule& m) { return m.name == "unrelated"; }));
    CHECK(saved == removed);
    CHECK_FALSE(report.failed);
    // by_hand_dep was freed too, but was not loaded on demand: it stays.
    CHECK(std::any_of(kernel.modules.begin(), kernel.modules.end(),
                      [](const LoadedModule& m) { return m.name == "by_hand_dep"; }));
    const auto cascaded = std::find_if(report.outcomes.begin(), report.outcomes.end(),
                                       [](const SweepOutcome& o) { return o.module == "libcrc32c"; });
    REQUIRE(cascaded != report.outcomes.end());
    CHECK(cascaded->cascaded);
    CHECK(cascaded->status == SweepStatus::unloaded);
    CHECK(report.next_state.count("xfs") == 0);
}

TEST_CASE("a module whose settings cannot be saved is not unloaded")
{
    FakeKernel kernel;
    kernel.load("lockd");
    const auto options = at(1000, seconds(0));
    const auto plan = plan_sweep(kernel.paths(), kernel.modules, on_demand(kernel, {"lockd"}), {}, options);
    bool removed = false;
    SweepHooks hooks;
    hooks.save_settings = [](const std::string&, const std::optional<Parameters>&) {
        return std::string("No space left on device");
    };
    hooks.remove = [&](const std::string&) {
        removed = true;
        return RemoveResult{RemoveOutcome::removed, {}};
    };
    hooks.read_loaded = [&] { return kernel.modules; };
    const auto report = execute_sweep(kernel.paths(), plan, on_demand(kernel, {"lockd"}), options, hooks);
    CHECK_FALSE(removed);
    CHECK(report.failed);
    CHECK(report.outcomes.front().status == SweepStatus::not_saved);
    CHECK(report.outcomes.front().reason == "No space left on device");
}

TEST_CASE("busy and gone are reported, not failures; a real failure is")
{
    FakeKernel kernel;
    kernel.load("busy_one");
    kernel.load("gone_one");
    kernel.load("denied_one");
    const auto records = on_demand(kernel, {"busy_one", "gone_one", "denied_one"});
    const auto options = at(1000, seconds(0));
    const auto plan = plan_sweep(kernel.paths(), kernel.modules, records, {}, options);
    SweepHooks hooks;
    hooks.remove = [](const std::string& module) {
        if (module == "busy_one")
            return RemoveResult{RemoveOutcome::busy, {}};
        if (module == "gone_one")
            return RemoveResult{RemoveOutcome::gone, {}};
        return RemoveResult{RemoveOutcome::failed, "Operation not permitted"};
    };
    hooks.read_loaded = [&] { return kernel.modules; };
    const auto report = execute_sweep(kernel.paths(), plan, records, options, hooks);
    REQUIRE(report.outcomes.size() == 3);
    CHECK(report.outcomes[0].status == SweepStatus::busy);
    CHECK(report.outcomes[1].status == SweepStatus::gone);
    CHECK(report.outcomes[2].status == SweepStatus::failed);
    CHECK(report.failed);
}

TEST_CASE("a dry run saves and removes nothing, whatever the hooks would do")
{
    FakeKernel kernel;
    kernel.load("minix");
    auto options = at(1000, seconds(0));
    options.dry_run = true;
    const auto plan = plan_sweep(kernel.paths(), kernel.modules, on_demand(kernel, {"minix"}), {}, options);
    SweepHooks hooks;
    hooks.save_settings = [](const std::string&, const std::optional<Parameters>&) -> std::string {
        FAIL("settings saved in a dry run");
        return {};
    };
    hooks.remove = [](const std::string&) -> RemoveResult {
        FAIL("removed in a dry run");
        return {};
    };
    hooks.read_loaded = [&] { return kernel.modules; };
    const auto report = execute_sweep(kernel.paths(), plan, on_demand(kernel, {"minix"}), options, hooks);
    CHECK(report.outcomes.front().status == SweepStatus::would_unload);
    CHECK_FALSE(report.failed);
}

namespace {

// A sweep where removing `top` frees `dependency`, which then falls under `guard`.
std::vector<std::string> cascade_with(const std::function<void(FakeKernel&, SweepOptions&)>& guard)
{
    FakeKernel kernel;
    kernel.load("dependency", 0, {"top"});
    kernel.load("top");
    const auto records = on_demand(kernel, {"dependency", "top"});
    auto options = at(1000, seconds(0));
    guard(kernel, options);
    const auto plan = plan_sweep(kernel.paths(), kernel.modules, records, {}, options);
    std::vector<std::string> removed;
    SweepHooks hooks;
    hooks.remove = [&](const std::string& module) {
        removed.push_back(module);
        kernel.unload(module);
        return RemoveResult{RemoveOutcome::removed, {}};
    };
    hooks.read_loaded = [&] { return kernel.modules; };
    hooks.dependencies_of = [](const std::string& module) {
        return module == "top" ? std::vector<std::string>{"dependency"} : std::vector<std::string>{};
    };
    execute_sweep(kernel.paths(), plan, records, options, hooks);
    return removed;
}

} // namespace

TEST_CASE("the cascade asks the same rules as the plan: a freed dependency that must stay, stays")
{
    // Without a guard the freed dependency goes with the module that held it...
    CHECK(cascade_with([](FakeKernel&, SweepOptions&) {}) == std::vector<std::string>{"top", "dependency"});
    // ...but not when it is keep-listed,
    CHECK(cascade_with([](FakeKernel&, SweepOptions& options) { options.keep = {"depend*"}; }) ==
          std::vector<std::string>{"top"});
    // bound to a device,
    CHECK(cascade_with([](FakeKernel& kernel, SweepOptions&) {
              kernel.symlink("../../../../devices/platform/serial8250",
                             "/sys/module/dependency/drivers/platform:serial8250/serial8250");
          }) == std::vector<std::string>{"top"});
    // or the driver of a network interface.
    CHECK(cascade_with([](FakeKernel&, SweepOptions& options) {
              options.read_network_interfaces = [] { return InterfacesByDriver{{"dependency", {"dep0"}}}; };
          }) == std::vector<std::string>{"top"});
}

TEST_CASE("keep_reason: a named module skips the on-demand, keep, interface and binding rules only")
{
    FakeKernel kernel;
    kernel.load("e1000");
    kernel.symlink("../../../../devices/pci0000:00/0000:00:03.0", "/sys/module/e1000/drivers/pci:e1000/0000:00:03.0");
    const InterfacesByDriver interfaces{{"e1000", {"eth0"}}};
    const auto lookup = [&]() -> const InterfacesByDriver& { return interfaces; };
    const auto& e1000 = kernel.get("e1000");
    CHECK(keep_reason(kernel.paths(), e1000, false, false, false, {}, lookup) == "not loaded on demand");
    CHECK(keep_reason(kernel.paths(), e1000, true, false, false, {"e1*"}, lookup) == "keep list (e1*)");
    CHECK(keep_reason(kernel.paths(), e1000, true, false, false, {}, lookup) == "has network interfaces eth0");
    CHECK(keep_reason(kernel.paths(), e1000, false, false, true, {}, lookup) == "has network interfaces eth0");
    CHECK(keep_reason(kernel.paths(), e1000, false, true, false, {"e1*"}, lookup).empty());
    kernel.get("e1000").refcount = 2;
    CHECK(keep_reason(kernel.paths(), e1000, true, true, false, {}, lookup) == "in use (2 references)");
}

TEST_CASE("run_sweep in a dry run leaves the settings, records and idle clocks byte-identical")
{
    FakeKernel kernel;
    kernel.load("minix");
    kernel.load("lockd");
    kernel.write("/sys/module/lockd/parameters/nlm_timeout", "15\n", 0644);
    kernel.write("/proc/modules", "minix 4096 0 - Live 0x0\nlockd 4096 0 - Live 0x0\n");
    for (const char* name : {"minix", "lockd"}) {
        auto record = on_demand(kernel, {name}).at(name);
        record.parameters_at_load = Parameters{};
        write_on_demand_records(kernel.paths(), {record});
    }
    // A corrupt record, which a real sweep would remove, and an expired clock for minix.
    kernel.write("/run/kmod-tools/on-demand/broken", "{", 0644);
    write_idle_state(kernel.paths(), {{"minix", {10, module_instance(kernel.paths(), "minix")}}});
    save_settings(kernel.paths(), "lockd", {{"nlm_timeout", "20"}});

    auto snapshot = [&] {
        std::map<std::string, std::string> files;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(kernel.path()))
            if (entry.is_regular_file())
                files[entry.path().string()] = kmodtools::testing::read_file(entry.path());
        return files;
    };
    const auto before = snapshot();

    auto options = at(1000, seconds(0));
    options.dry_run = true;
    const auto paths = kernel.paths(); // the remover and the hooks keep a reference to it
    ModuleRemover remover(paths);
    auto hooks = system_sweep_hooks(paths, remover);
    hooks.read_loaded = [&] { return kernel.modules; };
    const auto report = run_sweep(paths, kernel.modules, options, hooks);
    CHECK(snapshot() == before);
    // The corrupt record makes even a dry run unload nothing: it says what a real sweep would do.
    for (const auto& outcome : report.outcomes)
        CHECK_MESSAGE(outcome.status == SweepStatus::kept, outcome.module);

    // Without the corrupt record the dry run says what would go, and still writes nothing.
    std::filesystem::remove(kernel / "/run/kmod-tools/on-demand/broken");
    const auto clean = snapshot();
    const auto second = run_sweep(paths, kernel.modules, options, hooks);
    CHECK(snapshot() == clean);
    CHECK(std::count_if(second.outcomes.begin(), second.outcomes.end(), [](const SweepOutcome& o) {
              return o.status == SweepStatus::would_unload;
          }) == 2);
}

TEST_CASE("run_sweep reports a named module that is not loaded, and fails")
{
    FakeKernel kernel;
    auto options = at(1000);
    options.named = {"not-here"};
    options.dry_run = true;
    SweepHooks hooks;
    hooks.read_loaded = [&] { return kernel.modules; };
    const auto report = run_sweep(kernel.paths(), kernel.modules, options, hooks);
    REQUIRE(report.outcomes.size() == 1);
    CHECK(report.outcomes[0].module == "not_here");
    CHECK(report.outcomes[0].status == SweepStatus::not_loaded);
    CHECK(report.failed);
}

TEST_CASE("sweep statuses have one spelling each")
{
    CHECK(to_string(SweepStatus::would_unload) == "would-unload");
    CHECK(to_string(SweepStatus::not_saved) == "not-saved");
    CHECK(to_string(SweepStatus::not_loaded) == "not-loaded");
}

TEST_CASE("state that a directory took the place of is set aside, and the next sweep works")
{
    FakeKernel kernel;
    kernel.load("minix");
    kernel.write("/proc/modules", "minix 4096 0 - Live 0x0\n");
    write_on_demand_records(kernel.paths(), {on_demand(kernel, {"minix"}).at("minix")});
    kernel.mkdir("/run/kmod-tools/idle.json");      // where the idle clocks go
    kernel.mkdir("/run/kmod-tools/on-demand/dummy"); // where a record goes
    kernel.mkdir("/run/kmod-tools/reap.lock");       // where the sweep lock goes
    const auto paths = kernel.paths();
    ModuleRemover remover(paths);
    auto hooks = system_sweep_hooks(paths, remover);
    hooks.read_loaded = [&] { return kernel.modules; };

    const auto lock = lock_sweeps(paths, false);
    CHECK(lock.has_value());
    const auto first = run_sweep(paths, kernel.modules, at(1000), hooks);
    CHECK_FALSE(first.failed);
    // The clocks were written, so the next sweep trusts them again.
    CHECK(read_idle_state(paths).count("minix") == 1);
    std::size_t set_aside = 0;
    for (const auto& dir : {"/run/kmod-tools", "/run/kmod-tools/on-demand"})
        for (const auto& entry : std::filesystem::directory_iterator(kernel / dir))
            set_aside += entry.path().filename().string().find(".set-aside-") != std::string::npos;
    CHECK(set_aside == 3);
    const auto second = run_sweep(paths, kernel.modules, at(1010), hooks);
    CHECK_FALSE(second.failed);
}

TEST_CASE("temporary files of killed writers are removed by the next sweep; a live writer's stay")
{
    FakeKernel kernel;
    kernel.write("/proc/modules", "");
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0)
        ::_exit(0);
    REQUIRE(::waitpid(child, nullptr, 0) == child);
    const auto dead = "/run/kmod-tools/on-demand/.xfs.tmp-" + std::to_string(child) + "-0-1-0";
    const auto live = "/run/kmod-tools/on-demand/.ext4.tmp-" + std::to_string(::getpid()) + "-0-1-0";
    const auto settings = "/var/lib/kmod-tools/settings/.lockd.conf.tmp-" + std::to_string(child) + "-3-4-0";
    kernel.write(dead, "{");
    kernel.write(live, "{");
    kernel.mkdir("/var/lib/kmod-tools/settings", 0700);
    kernel.write(settings, "# kmod-tools saved settings 1\n", 0600);
    const auto paths = kernel.paths();
    ModuleRemover remover(paths);
    auto hooks = system_sweep_hooks(paths, remover);
    hooks.read_loaded = [&] { return kernel.modules; };
    auto options = at(1000);
    options.dry_run = true;
    run_sweep(paths, kernel.modules, options, hooks);
    CHECK(std::filesystem::exists(kernel / dead)); // a dry run removes nothing
    options.dry_run = false;
    run_sweep(paths, kernel.modules, options, hooks);
    CHECK_FALSE(std::filesystem::exists(kernel / dead));
    CHECK_FALSE(std::filesystem::exists(kernel / settings));
    CHECK(std::filesystem::exists(kernel / live));
}
