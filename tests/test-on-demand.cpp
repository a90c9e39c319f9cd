// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of on-demand records: round trip, corruption, ownership, and concurrent writers.
#include "error.hpp"
#include "fake_root.hpp"
#include "on_demand.hpp"
#include "settings.hpp"

#include <sys/wait.h>

#include <thread>
#include <vector>

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

namespace {
OnDemandRecord sample(const std::string& module, std::int64_t when = 1700000000)
{
    return {module, "fs-" + module, Requester::kernel, when, 42, "ino:4242", std::nullopt};
}
} // namespace

TEST_CASE("records round-trip through their file")
{
    FakeRoot root;
    write_on_demand_records(root.paths(), {sample("xfs")});
    write_on_demand_records(root.paths(), {{"libcrc32c", "xfs", Requester::user, 1, 2, "", Parameters{{"debug", "0"}}}});
    const auto records = read_on_demand_records(root.paths());
    REQUIRE(records.size() == 2);
    const auto& xfs = records.at("xfs");
    CHECK(xfs.requested_name == "fs-xfs");
    CHECK(xfs.requester == Requester::kernel);
    CHECK(xfs.loaded_at == 1700000000);
    CHECK(xfs.loaded_at_boottime == 42);
    CHECK(xfs.instance == "ino:4242");
    CHECK(records.at("libcrc32c").requester == Requester::user);
    CHECK(records.at("libcrc32c").parameters_at_load == Parameters{{"debug", "0"}});
    CHECK_FALSE(xfs.parameters_at_load.has_value());

    remove_record(root.paths(), "xfs");
    remove_record(root.paths(), "never-recorded");
    CHECK(read_on_demand_records(root.paths()).size() == 1);
}

TEST_CASE("the hand-written JSON is valid and escapes what it must")
{
    OnDemandRecord record{"xfs", "odd\"name\\with\x01", Requester::user, 1, 2, "ino:3",
                          Parameters{{"p", "a \"quoted\" value"}, {"q", ""}}};
    const auto parsed = parse_on_demand_record(serialize(record), "test");
    CHECK(parsed.requested_name == record.requested_name);
    CHECK(parsed.parameters_at_load == record.parameters_at_load);
    record.parameters_at_load = Parameters{};
    CHECK(parse_on_demand_record(serialize(record), "test").parameters_at_load == Parameters{});
}

TEST_CASE("no records directory means no records")
{
    FakeRoot root;
    CHECK(read_on_demand_records(root.paths()).empty());
}

TEST_CASE("a record that cannot be trusted is an error naming the file, never skipped silently")
{
    FakeRoot root;
    write_on_demand_records(root.paths(), {sample("xfs")});
    const auto file = root / "/run/kmod-tools/on-demand/xfs";
    SUBCASE("truncated")
    {
        root.write("/run/kmod-tools/on-demand/xfs", "{\"module\": \"xf");
        CHECK_THROWS_WITH_AS(read_on_demand_records(root.paths()),
                             ("corrupt record " + file.string() + ": not valid JSON").c_str(), Error);
    }
    SUBCASE("a field missing")
    {
        root.write("/run/kmod-tools/on-demand/xfs", "{\"module\": \"xfs\"}");
        CHECK_THROWS_AS(read_on_demand_records(root.paths()), Error);
    }
    SUBCASE("names another module")
    {
        root.write("/run/kmod-tools/on-demand/xfs", serialize(sample("ext4")));
        CHECK_THROWS_WITH_AS(read_on_demand_records(root.paths()),
                             ("corrupt record " + file.string() + ": it names module 'ext4'").c_str(), Error);
    }
    SUBCASE("a stray file name")
    {
        root.write("/run/kmod-tools/on-demand/not-a-module!", "{}");
        CHECK_THROWS_AS(read_on_demand_records(root.paths()), Error);
    }
    SUBCASE("a symlink")
    {
        std::filesystem::remove(file);
        root.write("/tmp/forged", serialize(sample("xfs")));
        root.symlink((root / "/tmp/forged").string(), "/run/kmod-tools/on-demand/xfs");
        CHECK_THROWS_WITH_AS(read_on_demand_records(root.paths()),
                             ("refusing " + file.string() + ": it is a symlink").c_str(), Error);
    }
    SUBCASE("writable by others")
    {
        ::chmod(file.c_str(), 0666);
        CHECK_THROWS_AS(read_on_demand_records(root.paths()), Error);
    }
}

TEST_CASE("writers' temporary files are not records")
{
    FakeRoot root;
    write_on_demand_records(root.paths(), {sample("xfs")});
    root.write("/run/kmod-tools/on-demand/.xfs.tmp-1-2-3-4", "{half");
    CHECK(read_on_demand_records(root.paths()).size() == 1);
}

TEST_CASE("bad module names are never written")
{
    FakeRoot root;
    CHECK_THROWS_AS(write_on_demand_records(root.paths(), {sample("../../etc/passwd")}), Error);
    CHECK_THROWS_AS(write_on_demand_records(root.paths(), {sample("")}), Error);
}

TEST_CASE("concurrent writers, threads and processes, lose and corrupt nothing")
{
    FakeRoot root;
    constexpr int writers = 8;
    constexpr int rounds = 25;
    // Each writer records its own modules and, in every round, the module all of them share.
    auto writer = [&root](int id) {
        for (int round = 0; round < rounds; ++round) {
            write_on_demand_records(root.paths(), {sample("own_" + std::to_string(id) + "_" + std::to_string(round))});
            write_on_demand_records(root.paths(), {sample("shared", 1000 + round)});
        }
    };
    std::vector<pid_t> children;
    for (int id = 0; id < writers; ++id) {
        const pid_t child = ::fork();
        if (child == 0) {
            try {
                writer(id);
            } catch (...) {
                ::_exit(1);
            }
            ::_exit(0);
        }
        children.push_back(child);
    }
    std::vector<std::thread> threads;
    for (int id = writers; id < 2 * writers; ++id)
        threads.emplace_back(writer, id);
    for (auto& thread : threads)
        thread.join();
    for (const pid_t child : children) {
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }

    const auto records = read_on_demand_records(root.paths());
    CHECK(records.size() == 2 * writers * rounds + 1);
    for (int id = 0; id < 2 * writers; ++id)
        for (int round = 0; round < rounds; ++round)
            CHECK(records.count("own_" + std::to_string(id) + "_" + std::to_string(round)) == 1);
    const auto& shared = records.at("shared");
    CHECK(shared.loaded_at >= 1000);
    CHECK(shared.loaded_at < 1000 + rounds);
    // Nothing left half-written.
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(root / "/run/kmod-tools/on-demand")) {
        CHECK(entry.path().filename().string().front() != '.');
        ++files;
    }
    CHECK(files == 2 * writers * rounds + 1);
}
