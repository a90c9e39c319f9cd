// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of on-demand records: round trip, corruption, ownership, and concurrent writers.
#include "error.hpp"
#include "fake_root.hpp"
#include "on_demand.hpp"
#include "settings.hpp"
#include "text_file.hpp"

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

TEST_CASE("times that are not whole numbers in range are corrupt, checked before conversion")
{
    const std::pair<const char*, const char*> cases[] = {
        {"1e300", "loaded_at is not a whole number in range: 1e+300"},
        {"1.5", "loaded_at is not a whole number in range: 1.5"},
        {"18446744073709551615", "loaded_at is not a whole number in range: 18446744073709551615"},
        {"99999999999999999999999", "loaded_at is not a whole number in range: 9.999999999999999e+22"},
        {"\"1700000000\"", "loaded_at is not a whole number in range: string"},
    };
    for (const auto& [number, why] : cases) {
        const std::string shown = number;
        CAPTURE(shown);
        std::string text = serialize(sample("xfs"));
        text.replace(text.find("1700000000"), 10, number);
        CHECK_THROWS_WITH_AS(parse_on_demand_record(text, "f"), (std::string("corrupt record f: ") + why).c_str(),
                             Error);
    }
    std::string text = serialize(sample("xfs"));
    text.replace(text.find("42"), 2, "4.2e1");
    CHECK_THROWS_WITH_AS(parse_on_demand_record(text, "f"),
                         "corrupt record f: loaded_at_boottime is not a whole number in range: 42.0", Error);
    // The largest whole number that fits is still one.
    text = serialize(sample("xfs"));
    text.replace(text.find("1700000000"), 10, "9223372036854775807");
    CHECK(parse_on_demand_record(text, "f").loaded_at == INT64_MAX);
}

TEST_CASE("an unknown requester is quoted, so a newline in it cannot split the message")
{
    std::string text = serialize(sample("xfs"));
    text.replace(text.find("\"kernel\""), 8, "\"ker\\nnel\"");
    CHECK_THROWS_WITH_AS(parse_on_demand_record(text, "f"), "corrupt record f: unknown requester 'ker\\x0anel'",
                         Error);
}

TEST_CASE("bytes that are not UTF-8 are written as U+FFFD, so the record still reads back")
{
    FakeRoot root;
    // Any user can have the kernel ask for a name with such bytes; sysfs values may hold them too.
    const OnDemandRecord record{"xfs", "fs-\xff\xc3", Requester::kernel, 1, 2, "ino:3",
                                Parameters{{"label", "caf\xe9 ok \xc3\xa9"}, {"surrogate", "\xed\xa0\x80"}}};
    write_on_demand_records(root.paths(), {record});
    const auto records = read_on_demand_records(root.paths());
    REQUIRE(records.count("xfs") == 1);
    CHECK(records.at("xfs").requested_name == "fs-\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(records.at("xfs").parameters_at_load ==
          Parameters{{"label", "caf\xef\xbf\xbd ok \xc3\xa9"}, {"surrogate", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}});
}

TEST_CASE("a record file larger than any record is refused without reading it all")
{
    FakeRoot root;
    write_on_demand_records(root.paths(), {sample("xfs")});
    const auto file = root / "/run/kmod-tools/on-demand/xfs";
    root.write("/run/kmod-tools/on-demand/xfs", std::string(max_state_file_size + 1, ' '));
    CHECK_THROWS_WITH_AS(read_on_demand_records(root.paths()),
                         ("refusing " + file.string() + ": larger than 1048576 bytes").c_str(), Error);
    UntrustedRecords untrusted;
    CHECK(read_on_demand_records(root.paths(), &untrusted).empty());
    CHECK(untrusted.size() == 1);
}

TEST_CASE("a stale record is removed only if no newer load was recorded since it was judged")
{
    FakeRoot root;
    const auto paths = root.paths();
    write_on_demand_records(paths, {sample("xfs")}); // instance ino:4242
    remove_stale_record(paths, "xfs", "ino:4242");
    CHECK(read_on_demand_records(paths).empty());

    // Judged stale as ino:4242, but a helper loaded xfs again and recorded ino:99 before the removal.
    auto fresh = sample("xfs");
    fresh.instance = "ino:99";
    write_on_demand_records(paths, {fresh});
    remove_stale_record(paths, "xfs", "ino:4242");
    const auto records = read_on_demand_records(paths);
    REQUIRE(records.count("xfs") == 1);
    CHECK(records.at("xfs").instance == "ino:99");
    // Nothing is left under a hidden name, and a record that is gone already is no error.
    CHECK(std::distance(std::filesystem::directory_iterator(root / "/run/kmod-tools/on-demand"),
                        std::filesystem::directory_iterator()) == 1);
    remove_stale_record(paths, "never-recorded", "ino:1");
}
