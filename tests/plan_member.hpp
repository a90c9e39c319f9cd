// SPDX-License-Identifier: LGPL-2.1-or-later
// A plan member for policy tests: module, role, and the member it belongs to.
#pragma once

#include "policy.hpp"

#include <string>

inline kmodtools::PlanMember plan_member(std::string module,
                                         kmodtools::PlanRole role = kmodtools::PlanRole::requested,
                                         std::string via = "")
{
    kmodtools::PlanMember member;
    member.module = std::move(module);
    member.role = role;
    member.via = std::move(via);
    return member;
}
