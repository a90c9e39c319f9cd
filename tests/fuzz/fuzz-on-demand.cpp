// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: on-demand records (/run/kmod-tools/on-demand/MODULE), parsed and written back.
//
// Two round trips per input: the input parsed as a record file and, if it is one, written and parsed
// again; and the input split at NUL bytes into the fields of a record the helper could write.
#include "fuzz.hpp"
#include "request_name.hpp"
#include "loaded_modules.hpp"
#include "on_demand.hpp"

using namespace kmodtools;

namespace {

bool same(const OnDemandRecord& a, const OnDemandRecord& b)
{
    return a.module == b.module && a.requested_name == b.requested_name && a.requester == b.requester &&
           a.loaded_at == b.loaded_at && a.loaded_at_boottime == b.loaded_at_boottime && a.instance == b.instance &&
           a.parameters_at_load == b.parameters_at_load;
}

// What a written record must read back as: the same, except that bytes JSON cannot carry (not UTF-8)
// are written as U+FFFD.
OnDemandRecord as_written(OnDemandRecord record)
{
    record.requested_name = fuzz::valid_utf8(record.requested_name);
    record.instance = fuzz::valid_utf8(record.instance);
    if (record.parameters_at_load) {
        std::map<std::string, std::string> parameters;
        for (const auto& [name, value] : *record.parameters_at_load)
            parameters[fuzz::valid_utf8(name)] = fuzz::valid_utf8(value);
        record.parameters_at_load = parameters;
    }
    return record;
}

void check_round_trip(const OnDemandRecord& record)
{
    OnDemandRecord again;
    const auto text = serialize(record);
    const bool parsed = fuzz::returns_or_throws_error([&] { again = parse_on_demand_record(text, "written"); },
                                                      [&](const Error& error) { fuzz::fail(error.what()); });
    FUZZ_CHECK(parsed && same(as_written(record), again));
}

// A record as write_on_demand_records() would write it, from fields of the input.
std::optional<OnDemandRecord> record_from_fields(std::string_view input)
{
    fuzz::Fields fields(input);
    OnDemandRecord record;
    record.module = fields.next();
    record.requested_name = fields.next();
    record.requester = fields.next() == "k" ? Requester::kernel : Requester::user;
    record.loaded_at = fields.next_int64();
    record.loaded_at_boottime = fields.next_int64();
    record.instance = fields.next();
    if (!fields.empty()) {
        record.parameters_at_load.emplace();
        while (!fields.empty()) {
            auto name = fields.next();
            (*record.parameters_at_load)[name] = fields.next();
        }
    }
    // What the writers refuse, or never produce, is not a record to expect back.
    if (!is_module_name(record.module) || record.loaded_at_boottime < 0)
        return std::nullopt;
    return record;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = fuzz::as_text(data, size);
    OnDemandRecord record;
    const bool parsed = fuzz::returns_or_throws_error([&] { record = parse_on_demand_record(text, "fuzz"); },
                                                      [](const Error& error) {
                                                          const std::string message = error.what();
                                                          FUZZ_CHECK(message.rfind("corrupt record fuzz: ", 0) == 0);
                                                          FUZZ_CHECK(fuzz::is_one_line(message));
                                                      });
    if (parsed) {
        // kmod-reap trusts an accepted record to name a module and a time it can compare.
        FUZZ_CHECK(is_module_name(record.module));
        FUZZ_CHECK(record.loaded_at_boottime >= 0);
        check_round_trip(record);
    }
    if (const auto built = record_from_fields(text))
        check_round_trip(*built);
    return 0;
}
