// SPDX-License-Identifier: LGPL-2.1-or-later
// FakeRoot: a temporary directory tree standing in for /, removed when the test ends.
#pragma once

#include "paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace kmodtools::testing {

class FakeRoot {
public:
    FakeRoot()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "kmod-tools-test.XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        root_ = pattern;
        // mkdtemp makes 0700; the safety rules want directories nobody else can write, which 0755 is.
        std::filesystem::permissions(root_, static_cast<std::filesystem::perms>(0755));
    }
    ~FakeRoot()
    {
        std::error_code ignored;
        // Tests make read-only directories; give write back so removal works.
        for (auto it = std::filesystem::recursive_directory_iterator(root_, ignored);
             it != std::filesystem::recursive_directory_iterator(); it.increment(ignored))
            if (it->is_directory(ignored) && !it->is_symlink(ignored))
                ::chmod(it->path().c_str(), 0755);
        std::filesystem::remove_all(root_, ignored);
    }
    FakeRoot(const FakeRoot&) = delete;
    FakeRoot& operator=(const FakeRoot&) = delete;

    const std::filesystem::path& path() const { return root_; }
    Paths paths() const { return Paths(root_); }
    // `absolute` is a path of the faked system, e.g. "/proc/modules".
    std::filesystem::path operator/(const std::string& absolute) const
    {
        return root_ / std::filesystem::path(absolute).relative_path();
    }

    std::filesystem::path write(const std::string& absolute, const std::string& content, mode_t mode = 0644) const
    {
        const auto file = *this / absolute;
        std::filesystem::create_directories(file.parent_path());
        {
            std::ofstream out(file, std::ios::binary | std::ios::trunc);
            out << content;
        }
        ::chmod(file.c_str(), mode);
        return file;
    }
    std::filesystem::path mkdir(const std::string& absolute, mode_t mode = 0755) const
    {
        const auto dir = *this / absolute;
        std::filesystem::create_directories(dir);
        ::chmod(dir.c_str(), mode);
        return dir;
    }
    void symlink(const std::string& target, const std::string& absolute) const
    {
        const auto link = *this / absolute;
        std::filesystem::create_directories(link.parent_path());
        std::filesystem::create_symlink(target, link);
    }

private:
    std::filesystem::path root_;
};

inline std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace kmodtools::testing
