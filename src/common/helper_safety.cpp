// SPDX-License-Identifier: LGPL-2.1-or-later
// Rules for the modprobe helper path.
#include "helper_safety.hpp"

#include "error.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

namespace kmodtools {
namespace {

// Linux's own limit on symlinks followed in one lookup (MAXSYMLINKS).
constexpr int max_symlinks = 40;

std::deque<std::string> split_path(std::string_view path)
{
    std::deque<std::string> components;
    while (!path.empty()) {
        const auto slash = path.find('/');
        const auto component = path.substr(0, slash);
        if (!component.empty())
            components.emplace_back(component);
        path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    }
    return components;
}

std::string join_path(const std::vector<std::string>& components)
{
    std::string path;
    for (const auto& component : components)
        path += "/" + component;
    return path.empty() ? "/" : path;
}

std::string owner_name(uid_t uid) { return uid == 0 ? "root" : "uid " + std::to_string(uid); }

std::string directory_problem(const struct stat& st, const std::string& shown, uid_t trusted_owner)
{
    if (st.st_uid != trusted_owner)
        return "directory '" + shown + "' is not owned by " + owner_name(trusted_owner);
    // A sticky directory (/tmp) lets others add files but not replace ours.
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
        return "directory '" + shown + "' is writable by " + ((st.st_mode & S_IWOTH) != 0 ? "others" : "its group") +
               " without the sticky bit";
    return {};
}

std::string file_problem(const struct stat& st, const std::string& shown, uid_t trusted_owner)
{
    if (S_ISDIR(st.st_mode))
        return "'" + shown + "' is a directory, not a regular file";
    if (!S_ISREG(st.st_mode))
        return "'" + shown + "' is not a regular file";
    if ((st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
        return "'" + shown + "' is not executable";
    if (st.st_uid != trusted_owner)
        return "'" + shown + "' is not owned by " + owner_name(trusted_owner);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return "'" + shown + "' is writable by " + ((st.st_mode & S_IWOTH) != 0 ? "others" : "its group");
    return {};
}

} // namespace

std::string helper_path_problem(const Paths& paths, std::string_view helper, uid_t trusted_owner)
{
    if (helper.empty())
        return "empty path";
    if (helper.size() > max_helper_path_length)
        return "longer than " + std::to_string(max_helper_path_length) + " bytes, the kernel would truncate it";
    for (unsigned char c : helper)
        if (c < 0x20 || c == 0x7f)
            return "contains a control character";
    if (helper.front() != '/')
        return "not an absolute path";

    // Resolve by hand, as the kernel will, but under the root and judging each step on the way.
    std::vector<std::string> resolved;
    std::deque<std::string> pending = split_path(helper);
    int symlinks_followed = 0;
    struct stat st {};
    if (::stat(paths.root().c_str(), &st) < 0)
        return "cannot inspect '/': " + errno_text(errno);
    if (auto problem = directory_problem(st, "/", trusted_owner); !problem.empty())
        return problem;
    if (pending.empty())
        return "'/' is a directory, not a regular file";

    while (!pending.empty()) {
        const std::string component = pending.front();
        pending.pop_front();
        if (component == ".")
            continue;
        if (component == "..") {
            if (!resolved.empty())
                resolved.pop_back();
            continue;
        }
        resolved.push_back(component);
        const std::string shown = join_path(resolved);
        const auto on_host = paths.under_root(shown);
        if (::lstat(on_host.c_str(), &st) < 0) {
            if (errno == ENOENT)
                return "'" + shown + "' does not exist";
            return "cannot inspect '" + shown + "': " + errno_text(errno);
        }
        if (S_ISLNK(st.st_mode)) {
            // Who owns a symlink decides what it points to; its directory was judged already.
            if (st.st_uid != trusted_owner)
                return "symlink '" + shown + "' is not owned by " + owner_name(trusted_owner);
            if (++symlinks_followed > max_symlinks)
                return "too many levels of symlinks";
            std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
            const auto length = ::readlink(on_host.c_str(), target.data(), target.size());
            if (length < 0 || static_cast<std::size_t>(length) >= target.size())
                return "cannot read symlink '" + shown + "'";
            target.resize(static_cast<std::size_t>(length));
            resolved.pop_back();
            if (!target.empty() && target.front() == '/')
                resolved.clear();
            auto target_components = split_path(target);
            pending.insert(pending.begin(), target_components.begin(), target_components.end());
            continue;
        }
        if (!pending.empty()) {
            if (!S_ISDIR(st.st_mode))
                return "'" + shown + "' is not a directory";
            if (auto problem = directory_problem(st, shown, trusted_owner); !problem.empty())
                return problem;
            continue;
        }
        return file_problem(st, shown, trusted_owner);
    }
    // The path ended in "." or ".." (or a symlink to a directory that did): it names a directory.
    return "'" + join_path(resolved) + "' is a directory, not a regular file";
}

} // namespace kmodtools
