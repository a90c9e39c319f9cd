// SPDX-License-Identifier: LGPL-2.1-or-later
// Requester classes and sets of them.
#include "requester_class.hpp"

namespace kmodtools {

std::string_view to_string(RequesterClass requester_class)
{
    switch (requester_class) {
    case RequesterClass::privileged:
        return "privileged";
    case RequesterClass::unprivileged:
        return "unprivileged";
    case RequesterClass::container:
        return "container";
    case RequesterClass::unknown:
        break;
    }
    return "unknown";
}

std::optional<RequesterClass> parse_requester_class(std::string_view text)
{
    for (const auto candidate :
         {RequesterClass::privileged, RequesterClass::unprivileged, RequesterClass::container, RequesterClass::unknown})
        if (text == to_string(candidate))
            return candidate;
    return std::nullopt;
}

RequesterClass stricter(RequesterClass a, RequesterClass b)
{
    return a > b ? a : b;
}

std::string RequesterClassSet::describe() const
{
    std::string text;
    for (const auto candidate :
         {RequesterClass::privileged, RequesterClass::unprivileged, RequesterClass::container, RequesterClass::unknown})
        if (contains(candidate))
            text += (text.empty() ? "" : ",") + std::string(to_string(candidate));
    return text;
}

} // namespace kmodtools
