// SPDX-License-Identifier: LGPL-2.1-or-later
// Every path kmod-tools touches, built from one root.
#include "paths.hpp"

#include "error.hpp"
#include "text_file.hpp"

#include <cstdlib>

namespace kmodtools {

Paths Paths::from_environment()
{
    const char* root = std::getenv(root_environment_variable);
    if (root == nullptr || *root == '\0')
        return Paths("/");
    std::filesystem::path path(root);
    if (!path.is_absolute())
        throw Error::usage(std::string("$") + root_environment_variable + " must be an absolute path, not '" +
                           root + "'");
    return Paths(path);
}

Paths::Paths(std::filesystem::path root) : root_(std::move(root)) {}

std::filesystem::path Paths::under_root(const std::filesystem::path& absolute) const
{
    if (root_ == "/")
        return absolute;
    return root_ / absolute.relative_path();
}

std::filesystem::path Paths::on_system(const std::filesystem::path& under) const
{
    if (root_ == "/")
        return under;
    return std::filesystem::path("/") / under.lexically_relative(root_);
}

std::string Paths::kernel_release() const
{
    std::string release = read_text_file(sysctl_osrelease());
    while (!release.empty() && (release.back() == '\n' || release.back() == ' '))
        release.pop_back();
    if (release.empty() || release.find('/') != std::string::npos || release == "." || release == "..")
        throw Error::failure("unexpected kernel release '" + release + "' in " + sysctl_osrelease().string());
    return release;
}

std::filesystem::path Paths::modules_dir(std::string_view release) const
{
    return under_root("/lib/modules") / std::string(release);
}

} // namespace kmodtools
