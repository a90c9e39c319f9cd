// SPDX-License-Identifier: LGPL-2.1-or-later
// What every fuzz harness shares: the input as text, field splitting, and the checks that end a run.
//
// A harness is one file defining LLVMFuzzerTestOneInput. libFuzzer links it for fuzzing; replay.cpp
// links it for tests/run. A broken invariant must stop both the same way, so failures abort() after
// one line on stderr: libFuzzer keeps the input, the replay's TAP stream stops short and fails.
#pragma once

#include "error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace kmodtools::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size)
{
    return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(std::string_view what)
{
    std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
}

#define FUZZ_CHECK(condition)                                                                          \
    do {                                                                                               \
        if (!(condition))                                                                              \
            ::kmodtools::fuzz::fail(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #condition); \
    } while (false)

// Runs `parse`, which must return or throw kmodtools::Error (the one error type every caller catches);
// any other exception would escape to std::terminate in a tool. Returns whether it returned, after
// handing a thrown Error to `on_error` for checks of its message.
template <typename Parse, typename OnError>
bool returns_or_throws_error(Parse&& parse, OnError&& on_error)
{
    try {
        parse();
        return true;
    } catch (const Error& error) {
        on_error(error);
        return false;
    } catch (const std::exception& other) {
        fail(std::string("threw something other than kmodtools::Error: ") + other.what());
    } catch (...) {
        fail("threw something that is not even a std::exception");
    }
}

template <typename Parse>
bool returns_or_throws_error(Parse&& parse)
{
    return returns_or_throws_error(parse, [](const Error&) {});
}

// A message of ours is one line: it goes to the kernel log or syslog as one record.
inline bool is_one_line(std::string_view message) { return message.find('\n') == std::string_view::npos; }

// Splits the input into fields at NUL bytes, for harnesses that build data rather than parse text.
class Fields {
public:
    explicit Fields(std::string_view input) : rest_(input) {}

    bool empty() const { return rest_.empty(); }

    std::string next()
    {
        const auto end = rest_.find('\0');
        std::string field(rest_.substr(0, end));
        rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
        return field;
    }

    // Up to 8 bytes of the next field as a number (little end first).
    std::int64_t next_int64()
    {
        const auto field = next();
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < field.size() && i < 8; ++i)
            value |= std::uint64_t{static_cast<unsigned char>(field[i])} << (8 * i);
        return static_cast<std::int64_t>(value);
    }

private:
    std::string_view rest_;
};

// The length of the valid UTF-8 sequence at the start of `text` (no overlong forms, surrogates or code
// points past U+10FFFF: what a JSON parser accepts), 0 if there is none.
inline std::size_t utf8_length(std::string_view text)
{
    const auto lead = static_cast<unsigned char>(text[0]);
    if (lead < 0x80)
        return 1;
    const std::size_t length = (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : (lead & 0xf8) == 0xf0 ? 4 : 0;
    if (length == 0 || text.size() < length)
        return 0;
    std::uint32_t code_point = lead & (0x7fu >> length);
    for (std::size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(text[k]);
        if ((next & 0xc0) != 0x80)
            return 0;
        code_point = (code_point << 6) | (next & 0x3fu);
    }
    constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < smallest[length] || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff))
        return 0;
    return length;
}

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD, as JSON writers must.
inline std::string valid_utf8(std::string_view text)
{
    std::string result;
    while (!text.empty()) {
        const auto length = utf8_length(text);
        result += length == 0 ? std::string_view("\xef\xbf\xbd") : text.substr(0, length);
        text.remove_prefix(length == 0 ? 1 : length);
    }
    return result;
}

} // namespace kmodtools::fuzz
