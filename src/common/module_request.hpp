// SPDX-License-Identifier: LGPL-2.1-or-later
// Serving one requested name: the autoload policy, the load with restored settings, the records of
// what went in on demand, and the audit line of a kernel request.
#pragma once

#include "config.hpp"
#include "load_intent.hpp"
#include "module_loader.hpp"
#include "on_demand.hpp"
#include "paths.hpp"
#include "requester_class.hpp"

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

enum class RequestStatus { inserted, would_insert, already_loaded, builtin, blacklisted, denied, failed };
// As --json spells it: "inserted", "would-insert", "already-loaded", ...
std::string_view to_string(RequestStatus status);

struct RequestResult {
    std::string name;
    std::vector<std::string> modules;  // what the name resolved to
    std::vector<std::string> inserted; // in load order (dry run: would be inserted)
    RequestStatus status = RequestStatus::failed;
    std::optional<std::string> error;  // set whenever the request failed, also after a load
    // A kernel request's requester: its class as judged, and who it is (Attribution::describe()).
    RequesterClass requester_class = RequesterClass::unknown;
    std::string requester;
    // In warn and learn mode, what enforce would have done: "would be denied: ...".
    std::optional<std::string> policy_note;
};

// What the request history records as a kernel request's decision (request_history.hpp).
enum class HistoryDecision {
    granted,    // allowed (loaded, already there, or built in)
    denied,     // refused by the policy
    would_deny, // loaded in warn or learn mode, which enforce would have refused
    failed,     // allowed, but the load failed (or the name resolves to nothing)
    refused,    // refused because the configuration could not be read
};
std::string_view to_string(HistoryDecision decision);
HistoryDecision history_decision(const RequestResult& result);

// "kernel request 'NAME' from REQUESTER": how every audit line of a kernel request begins.
std::string kernel_request_text(std::string_view name, const std::string& requester);

// A kernel request for `name` refused because the configuration cannot be read (`problem`): its
// requester found, audited and added to the request history as any other request is.
void refuse_kernel_request(const Paths& paths, const std::string& name, const std::string& problem);

struct RequestOptions {
    Requester requester = Requester::user;
    const Config* policy = nullptr; // judges kernel requests; unset: nothing is denied
    bool dry_run = false;           // resolve and announce only: nothing inserted, recorded or audited
    bool restore_settings = true;   // pass settings kmod-reap saved as load-time options
    bool quiet = false;             // as modprobe -q: no message for a name that matches nothing
    // The class a kernel request is judged as in a dry run (a real one finds out who asked).
    RequesterClass dry_run_class = RequesterClass::unknown;
};

class RequestServer {
public:
    RequestServer(const Paths& paths, ModuleLoader& loader, const RequestOptions& options);

    // Loads `name` with `command_line_options` (PARAM=VALUE words given after it), as the policy
    // allows, and records what it inserted. Failures are in the result, already logged.
    RequestResult serve(const std::string& name, const std::string& command_line_options);

    // After serving: turns the load intents of helpers killed before they recorded into records,
    // if this run inserted anything (the path that already writes state; a request that finds its
    // module loaded stays as cheap as it was). Never waits for a sweep. Errors are logged.
    void reconcile_others();

private:
    // Who asked for `name` (a kernel request), into `result`.
    void attribute(const std::string& name, RequestResult& result);
    // Whether the policy refuses `name` (a kernel request only); fills `result` if so.
    bool denied(const std::string& name, RequestResult& result);
    // Whether the records were written (or nothing needed one).
    bool record(const std::string& name, const std::string& command_line_options, RequestResult& result);
    void audit(const std::string& name, const RequestResult& result) const;
    void append_to_history(const std::string& name, const RequestResult& result) const;

    const Paths& paths_;
    ModuleLoader& loader_;
    RequestOptions options_;
    std::set<std::string> with_settings_;     // modules with saved settings
    ExplicitParameters explicit_parameters_; // given at load: never in the load-time snapshot
    LoadIntentWriter intent_;                 // written before each insertion
};

} // namespace kmodtools
