// SPDX-License-Identifier: LGPL-2.1-or-later
// The one command-line voice of every tool, over CLI11.
//
// Header-only and included by the tools' own files alone: CLI11 is header-only, and every file that
// includes it sets up its validators when the program starts. One copy per program, built only by
// the tool that parses a command line, keeps that start-up off the shared library.
#pragma once

#include "error.hpp"
#include "request_name.hpp"
#include "tool_main.hpp"

// CLI11 includes <iostream>, whose start-up object would set up the standard streams and the whole
// classic locale in every tool (standard_streams.hpp says what that costs). The tools write through
// stdio and never use std::cin, std::cout, std::cerr or std::clog; CLI11 names them only in code they
// never run (App::exit(), deprecated and retired options, AutoTimer). So <iostream> is replaced by
// the declarations it would make, without its start-up object; tests/build/check-lean-startup
// checks the tools.
#ifdef _GLIBCXX_IOSTREAM
#error "<iostream> is included before command_line.hpp: its start-up cost would be back in the tools"
#endif
#define _GLIBCXX_IOSTREAM 1
#include <istream>
#include <ostream>
namespace std {
extern istream cin;
extern ostream cout;
extern ostream cerr;
extern ostream clog;
} // namespace std

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

namespace kmodtools {

namespace command_line_detail {

// The option CLI11 names at the start of its message ("--delay: 1 required DURATION missing").
inline std::string option_in(std::string_view message) { return std::string(message.substr(0, message.find(':'))); }

} // namespace command_line_detail

// app.parse() in the one voice of every tool: -h/--help prints `help` (the tool's own short text),
// -V/--version "PROGRAM from kmod-tools VERSION" (both end the run with status 0); an unknown
// option, a missing value or a stray argument is Error::usage with one wording, which tool_main
// follows with "Try 'PROGRAM --help'.". Call it on an app with no help or version flag of its own.
inline void parse_command_line(CLI::App& app, int argc, char** argv, std::string_view help)
{
    using namespace command_line_detail;
    app.set_help_flag("-h,--help");
    app.set_version_flag("-V,--version", version_line(app.get_name()));
    // Unknown words are reported below, in our wording, not CLI11's.
    app.allow_extras();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        print_help(help);
        throw Error(ExitStatus::ok, "");
    } catch (const CLI::CallForVersion&) {
        print_version(app.get_name());
        throw Error(ExitStatus::ok, "");
    } catch (const CLI::ArgumentMismatch& error) {
        throw Error::usage("option '" + option_in(error.what()) + "' needs a value");
    } catch (const CLI::ParseError& error) {
        throw Error::usage(std::string("bad command line: ") + error.what());
    }
    for (const auto& extra : app.remaining())
        throw Error::usage(std::string(!extra.empty() && extra.front() == '-' ? "unknown option " : "unexpected argument ") +
                           quote_name(extra));
}

} // namespace kmodtools
