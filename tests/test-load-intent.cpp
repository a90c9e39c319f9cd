// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of load intents: round trip, corrupt files, and reconciling a killed writer's intent into records.
#include "capture_stderr.hpp"
#include "error.hpp"
#include "fake_root.hpp"
#include "load_intent.hpp"
#include "loaded_modules.hpp"
#include "log.hpp"
#include "on_demand.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::capture_stderr;
using kmodtools::testing::FakeRoot;

namespace {

// A pid that is certainly gone: a child that has exited and been waited for.
pid_t dead_pid()
{
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        ::_exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return pid;
}

LoadIntent intent_of(pid_t pid, std::vector<IntendedLoad> modules)
{
    return {pid, Requester::kernel, 1700000000, 77, std::move(modules)};
}

void write_intent(const FakeRoot& root, const LoadIntent& intent)
{
    root.write("/run/kmod-tools/pending/" + std::to_string(intent.pid), serialize(intent));
}

// The fake kernel: `modules` loaded, each with its /sys/module directory.
void load(const FakeRoot& root, const std::vector<std::string>& modules)
{
    std::string list;
    for (const auto& module : modules) {
        list += module + " 4096 0 - Live 0x0\n";
        root.mkdir("/sys/module/" + module);
    }
    root.write("/proc/modules", list);
}

std::vector<std::string> entries(const FakeRoot& root, const std::string& dir)
{
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(root / dir))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

struct Quiet {
    Quiet() { log::setup("kmod-test", log::Target::stderr_stream, log::Level::notice); }
};

} // namespace

TEST_CASE("a load intent round-trips through its file")
{
    const auto intent = intent_of(1234, {{"crc32c_generic", "fs-xfs", ""}, {"xfs", "fs-xfs\"odd\x01", "ino:9"}});
    const auto parsed = parse_load_intent(serialize(intent), "test");
    CHECK(parsed.pid == 1234);
    CHECK(parsed.requester == Requester::kernel);
    CHECK(parsed.written_at == 1700000000);
    CHECK(parsed.written_at_boottime == 77);
    REQUIRE(parsed.modules.size() == 2);
    CHECK(parsed.modules[1].module == "xfs");
    CHECK(parsed.modules[1].requested_name == "fs-xfs\"odd\x01");
    CHECK(parsed.modules[1].instance_before == "ino:9");
    CHECK(parse_load_intent(serialize(intent_of(1, {})), "test").modules.empty());
}

TEST_CASE("corrupt load intents are refused with one line naming the file")
{
    const std::string good = serialize(intent_of(1234, {{"xfs", "fs-xfs", ""}}));
    auto with = [&](const std::string& from, const std::string& to) {
        auto text = good;
        const auto at = text.find(from);
        REQUIRE(at != std::string::npos);
        return text.replace(at, from.size(), to);
    };
    for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
             {"", "not valid JSON"},
             {"[]", "not a JSON object"},
             {good.substr(0, good.size() / 2), "not valid JSON"},
             {with("\"pid\": 1234", "\"pid\": 0"), "not a process id"},
             {with("\"pid\": 1234", "\"pid\": 1e300"), "pid is not a whole number"},
             {with("\"pid\": 1234", "\"pid\": -5"), "pid is not a whole number"},
             {with("\"pid\": 1234", "\"pid\": 12.5"), "pid is not a whole number"},
             {with("\"pid\": 1234", "\"pid\": 99999999999"), "not a process id"},
             {with("\"kernel\"", "\"martian\""), "unknown requester"},
             {with("\"written_at\": 1700000000", "\"written_at\": \"soon\""), "written_at is not a whole number"},
             {R"({"pid": 1234, "requester": "user", "written_at": 1, "written_at_boottime": 1, "modules": 5})",
              "modules is not an array"},
             {with("\"module\": \"xfs\"", "\"module\": \"../etc\""), "bad module name"},
             {with("\"module\": \"xfs\"", "\"module\": 7"), "missing or mistyped field"},
             {with(", \"instance_before\": \"\"", ""), "missing or mistyped field"},
         }) {
        CAPTURE(text);
        try {
            parse_load_intent(text, "/run/kmod-tools/pending/1234");
            FAIL("accepted");
        } catch (const Error& error) {
            const std::string message = error.what();
            CHECK(message.find("corrupt load intent /run/kmod-tools/pending/1234: ") == 0);
            CHECK(message.find(why) != std::string::npos);
            CHECK(message.find('\n') == std::string::npos);
        }
    }
}

TEST_CASE("the writer keeps its intent until the records are written")
{
    FakeRoot root;
    Quiet quiet;
    load(root, {});
    const auto file = "/run/kmod-tools/pending/" + std::to_string(::getpid());
    {
        LoadIntentWriter writer(root.paths(), Requester::kernel);
        CHECK_FALSE(writer.wrote_any());
        writer.about_to_insert("crc32c-generic", "fs-xfs");
        writer.about_to_insert("xfs", "fs-xfs");
        CHECK(writer.wrote_any());
        auto intent = parse_load_intent(testing::read_file(root / file), file);
        CHECK(intent.pid == ::getpid());
        REQUIRE(intent.modules.size() == 2);
        CHECK(intent.modules[0].module == "crc32c_generic");
        CHECK(intent.modules[0].instance_before.empty());
        writer.about_to_insert("dummy", "dummy");
        writer.settled("fs-xfs");
        intent = parse_load_intent(testing::read_file(root / file), file);
        REQUIRE(intent.modules.size() == 1);
        CHECK(intent.modules[0].module == "dummy");
        writer.settled("dummy");
        CHECK_FALSE(std::filesystem::exists(root / file));
    }
    // Its own file is never reconciled while it runs.
    LoadIntentWriter writer(root.paths(), Requester::kernel);
    writer.about_to_insert("xfs", "fs-xfs");
    load(root, {"xfs"});
    const auto report = reconcile_load_intents(root.paths(), false);
    CHECK(report.in_progress == 1);
    CHECK(read_on_demand_records(root.paths()).empty());
    CHECK(std::filesystem::exists(root / file));
}

TEST_CASE("a writer that cannot keep its intent says so once and the load goes on")
{
    FakeRoot root;
    Quiet quiet;
    root.write("/run/kmod-tools/pending", "a file where the directory goes");
    LoadIntentWriter writer(root.paths(), Requester::kernel);
    const auto messages = capture_stderr([&] {
        writer.about_to_insert("xfs", "fs-xfs");
        writer.about_to_insert("libcrc32c", "fs-xfs");
        writer.settled("fs-xfs");
    });
    CHECK(messages.find("cannot keep the load intent") != std::string::npos);
    CHECK(messages.find("cannot keep the load intent", messages.find("cannot keep") + 1) == std::string::npos);
    CHECK_FALSE(writer.wrote_any());
}

TEST_CASE("a killed writer's intent becomes the records of what it loaded")
{
    FakeRoot root;
    Quiet quiet;
    const pid_t pid = dead_pid();
    // Killed after inserting libcrc32c and xfs, before recording: crc32c was there before it.
    root.mkdir("/sys/module/crc32c");
    load(root, {"xfs", "libcrc32c", "crc32c"});
    const auto crc32c_before = module_instance(root.paths(), "crc32c");
    write_intent(root, intent_of(pid, {{"crc32c", "fs-xfs", crc32c_before},
                                       {"libcrc32c", "fs-xfs", ""},
                                       {"xfs", "fs-xfs", ""},
                                       {"never_went_in", "fs-xfs", ""}}));

    ReconcileReport report;
    const auto messages = capture_stderr([&] { report = reconcile_load_intents(root.paths(), false); });
    CHECK(report.recorded == 2);
    CHECK(report.dropped == 1);
    CHECK(messages.find("recorded libcrc32c xfs, loaded on demand by process " + std::to_string(pid)) !=
          std::string::npos);
    const auto records = read_on_demand_records(root.paths());
    REQUIRE(records.size() == 2);
    const auto& xfs = records.at("xfs");
    CHECK(xfs.requested_name == "fs-xfs");
    CHECK(xfs.requester == Requester::kernel);
    CHECK(xfs.loaded_at == 1700000000);
    CHECK(xfs.loaded_at_boottime == 77);
    CHECK(record_matches_load(root.paths(), xfs));
    // Unknown parameters as loaded: kmod-reap saves every writable one rather than lose a setting.
    CHECK_FALSE(xfs.parameters_at_load.has_value());
    CHECK(records.count("crc32c") == 0);
    CHECK(entries(root, "/run/kmod-tools/pending").empty());

    // Nothing left to do: a second run changes nothing.
    report = reconcile_load_intents(root.paths(), false);
    CHECK(report.recorded == 0);
    CHECK(report.dropped == 0);
}

TEST_CASE("reconciling never duplicates a record nor revives a load that is gone")
{
    FakeRoot root;
    Quiet quiet;
    load(root, {"xfs"});
    OnDemandRecord recorded{"xfs", "xfs", Requester::user, 5, 6, module_instance(root.paths(), "xfs"), std::nullopt};
    write_on_demand_records(root.paths(), {recorded});
    // Killed between writing the record and removing the intent.
    write_intent(root, intent_of(dead_pid(), {{"xfs", "fs-xfs", ""}, {"minix", "fs-minix", ""}}));
    const auto report = reconcile_load_intents(root.paths(), false);
    CHECK(report.recorded == 0);
    CHECK(report.dropped == 1);
    const auto records = read_on_demand_records(root.paths());
    REQUIRE(records.size() == 1);
    CHECK(records.at("xfs").requested_name == "xfs"); // the writer's own record stands
    CHECK(entries(root, "/run/kmod-tools/pending").empty());
}

TEST_CASE("a dry run says what it would record and changes nothing")
{
    FakeRoot root;
    Quiet quiet;
    load(root, {"xfs"});
    write_intent(root, intent_of(dead_pid(), {{"xfs", "fs-xfs", ""}}));
    ReconcileReport report;
    const auto messages = capture_stderr([&] { report = reconcile_load_intents(root.paths(), true); });
    CHECK(report.recorded == 1);
    CHECK(messages.find("would record xfs") != std::string::npos);
    CHECK(read_on_demand_records(root.paths()).empty());
    CHECK(entries(root, "/run/kmod-tools/pending").size() == 1);
}

TEST_CASE("corrupt, misnamed, symlinked and non-file intents are set aside in one line each")
{
    FakeRoot root;
    Quiet quiet;
    load(root, {"xfs"});
    const pid_t pid = dead_pid();
    root.write("/run/kmod-tools/pending/" + std::to_string(pid), "{\"pid\": ");
    root.write("/run/kmod-tools/pending/not-a-pid", serialize(intent_of(pid, {{"xfs", "fs-xfs", ""}})));
    root.write("/run/kmod-tools/pending/00" + std::to_string(pid), serialize(intent_of(pid, {{"xfs", "fs-xfs", ""}})));
    const pid_t other = dead_pid();
    root.write("/run/kmod-tools/pending/" + std::to_string(other), serialize(intent_of(pid, {{"xfs", "fs-xfs", ""}})));
    const auto target = root.write("/etc/precious", serialize(intent_of(4, {{"xfs", "fs-xfs", ""}})));
    root.symlink(target.string(), "/run/kmod-tools/pending/4");
    root.mkdir("/run/kmod-tools/pending/5");
    root.write("/run/kmod-tools/pending/6", serialize(intent_of(6, {{"xfs", "fs-xfs", ""}})), 0666);

    ReconcileReport report;
    const auto messages = capture_stderr([&] { report = reconcile_load_intents(root.paths(), false); });
    CHECK(report.set_aside == 7);
    CHECK(report.recorded == 0);
    CHECK(read_on_demand_records(root.paths()).empty());
    CHECK(std::count(messages.begin(), messages.end(), '\n') == 7);
    CHECK(messages.find("corrupt load intent " + (root / "/run/kmod-tools/pending/").string() + std::to_string(pid) +
                        ": not valid JSON; moved it out of the way to ") != std::string::npos);
    CHECK(messages.find("its name is not a process id") != std::string::npos);
    CHECK(messages.find("it names process " + std::to_string(pid)) != std::string::npos);
    CHECK(messages.find("it is a symlink") != std::string::npos);
    CHECK(messages.find("writable by group or others") != std::string::npos);
    // Everything moved under hidden names that no reader takes for an intent; the link's target is untouched.
    for (const auto& name : entries(root, "/run/kmod-tools/pending"))
        CHECK(name.front() == '.');
    CHECK(testing::read_file(target) == serialize(intent_of(4, {{"xfs", "fs-xfs", ""}})));
    // A running writer's file is not even read (it is mid-write only under its temporary name).
    root.write("/run/kmod-tools/pending/" + std::to_string(::getppid()), "not read while its writer runs");
    // And the next run finds nothing to complain about.
    const auto again = capture_stderr([&] { report = reconcile_load_intents(root.paths(), false); });
    CHECK(again.empty());
    CHECK(report.set_aside == 0);
    CHECK(report.in_progress == 1);
}

TEST_CASE("a pending directory that cannot be trusted is an error, not a crash")
{
    FakeRoot root;
    Quiet quiet;
    root.mkdir("/elsewhere");
    root.symlink((root / "/elsewhere").string(), "/run/kmod-tools/pending");
    CHECK_THROWS_WITH_AS(reconcile_load_intents(root.paths(), false),
                         doctest::Contains("it is a symlink"), Error);
}
