// SPDX-License-Identifier: LGPL-2.1-or-later
// Replays a fuzz target's corpus without libFuzzer, as TAP: every input that ever mattered, on every build.
//
// Usage: fuzz-replay-TARGET CORPUS_DIR. Every file is one input, run in name order; the target is one
// TAP line, so a corpus of hundreds of inputs counts as one check in tests/summarize. A harness that
// finds a broken invariant aborts (see fuzz.hpp), so the "ok" never comes and the "# input" line
// before the abort names the culprit; an empty or missing corpus is a failure, not a pass.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    const std::filesystem::path corpus = argv[1];
    std::vector<std::filesystem::path> inputs;
    std::error_code error;
    for (std::filesystem::directory_iterator it(corpus, error), end; !error && it != end; it.increment(error))
        if (it->is_regular_file())
            inputs.push_back(it->path());
    if (error) {
        std::printf("1..1\nnot ok 1 - cannot read corpus %s: %s\n", corpus.c_str(), error.message().c_str());
        return 1;
    }
    if (inputs.empty()) {
        std::printf("1..1\nnot ok 1 - corpus %s holds no inputs\n", corpus.c_str());
        return 1;
    }
    std::sort(inputs.begin(), inputs.end());

    std::printf("1..1\n");
    for (const auto& input : inputs) {
        const auto name = corpus.filename().string() + "/" + input.filename().string();
        std::ifstream file(input, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
        if (file.bad()) {
            std::printf("not ok 1 - %s: cannot read %s\n", corpus.filename().c_str(), name.c_str());
            return 1;
        }
        std::printf("# input %s (%zu bytes)\n", name.c_str(), bytes.size());
        std::fflush(stdout);
        // A copy of exactly `size` bytes, as libFuzzer gives, so ASan sees any read past the end.
        std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
        LLVMFuzzerTestOneInput(data.data(), data.size());
    }
    std::printf("ok 1 - %s: %zu inputs replayed\n", corpus.filename().c_str(), inputs.size());
    return 0;
}
