// SPDX-License-Identifier: LGPL-2.1-or-later
// The classes of tasks that ask the kernel for a module, which policy rules are conditioned on.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kmodtools {

// What a rule can be conditioned on. Ordered from the most to the least trusted: an ambiguous
// request is judged by the stricter (greater) of its candidates' classes.
enum class RequesterClass {
    privileged,   // CAP_SYS_MODULE in the initial user namespace: could load the module by hand anyway
    unprivileged, // the initial user namespace, without CAP_SYS_MODULE
    container,    // a non-initial user namespace, whatever capabilities it has there
    unknown,      // not attributed (no tracing, no matching event, events lost)
};
std::string_view to_string(RequesterClass requester_class);
std::optional<RequesterClass> parse_requester_class(std::string_view text);
RequesterClass stricter(RequesterClass a, RequesterClass b);

// A set of classes, as a rule's "for CLASS,..." or "unless CLASS,..." names them.
class RequesterClassSet {
public:
    static RequesterClassSet all() { return RequesterClassSet(0xf); }
    static RequesterClassSet none() { return RequesterClassSet(0); }

    bool contains(RequesterClass requester_class) const { return (bits_ & bit(requester_class)) != 0; }
    void add(RequesterClass requester_class) { bits_ |= bit(requester_class); }
    RequesterClassSet complement() const { return RequesterClassSet(~bits_ & 0xf); }
    bool empty() const { return bits_ == 0; }
    bool operator==(const RequesterClassSet&) const = default;

    // "privileged,container", in the enum's order.
    std::string describe() const;

private:
    explicit RequesterClassSet(unsigned bits) : bits_(bits) {}
    static unsigned bit(RequesterClass requester_class) { return 1u << static_cast<unsigned>(requester_class); }

    unsigned bits_;
};

} // namespace kmodtools
