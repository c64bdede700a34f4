// The patch command's phases of an instance (instance.h): AWS-RunPatchBaseline sent once, and
// its end awaited.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "awsclient/clients.h"
#include "awsclient/pagination.h"
#include "handlers/patch/instance.h"
#include "handlers/poll_grid.h"

namespace fleetkeeper::handlers::patch {
namespace {

// Pages searched for a command's token before the command is sent: the batch's ListCommands,
// and an instance's own ListCommandInvocations when that listing is longer.
constexpr int kCommandSearchPages = 20;
// How far before the earliest token the batch's search lists from: SSM's clock may be behind
// ours, and a command missed for that would be sent twice.
constexpr int64_t kSearchSkewMs = 60'000;
// The batch's command look: its pages at most (50 invocations each), and how far before the
// earliest command it lists from, for SSM's clock and ours.
constexpr int kCommandLookPages = 10;
constexpr int64_t kLookSkewMs = 5'000;

bool Terminal(const std::string& status) {
  return status == "Success" || status == "Failed" || status == "TimedOut" ||
         status == "Cancelled" || status == "DeliveryTimedOut" || status == "ExecutionTimedOut" ||
         status == "Undeliverable" || status == "Terminated" || status == "InvalidPlatform" ||
         status == "AccessDenied";
}

// The command's status for the instance from the signals delivered since the last step, or "".
std::string SignalledStatus(const PatchTick& t, const v1::PatchInstanceState& i) {
  std::string status;
  for (const auto& e : t.ctx.signals()) {
    if (e.body_case() != v1::Event::kCommandProgress) continue;
    const auto& p = e.command_progress();
    if (p.command_id() != i.command_id()) continue;
    // A single-instance command: the command's own status is the invocation's.
    if (p.invocation() && p.instance_id() != i.instance_id()) continue;
    status = p.status();
  }
  return status;
}

// Right after SendCommand, SSM may not know the invocation yet (InvocationDoesNotExist).
bool NotYetInvoked(const Error& e) {
  return e.code == ErrorCode::kNotFound || e.aws_code == "InvocationDoesNotExist";
}

// Whether the command of `other` is due for a look in this run, as that of `i` is.
bool DueForLook(const PatchTick& t, const v1::PatchInstanceState& i,
                const v1::PatchInstanceState& other) {
  return other.batch() == i.batch() && other.phase() == kCommandWait &&
         !other.command_id().empty() && other.next_poll_ms() <= t.now_ms;
}

// One look at the commands of every instance of the batch due for one, once a run: the
// document's invocations since the earliest of them was sent (ListCommandInvocations by
// DocumentName and InvokedAfter, in pages), into the run's command_status. Instead of one
// GetCommandInvocation per instance: a command the look does not list (not invoked yet, beyond
// kCommandLookPages, or SSM's clock more than kLookSkewMs behind ours) is read on its own.
void LookAtCommands(PatchTick& t, const v1::PatchInstanceState& i) {
  RunShared& run = *t.shared;
  // An error leaves the look empty: each instance reads its own command.
  (void)t.ShareRead(
      "command-look", [&] { return run.commands_looked; },
      [&]() -> Status {
        run.commands_looked = true;
        int due = 0;
        int64_t since = t.now_ms;
        for (const auto& other : t.state.instances()) {
          if (!DueForLook(t, i, other)) continue;
          ++due;
          since = std::min(since, other.phase_started_ms());
        }
        if (due < 2) return Ok{};  // one command: its own read costs the same
        aws::ListCommandInvocationsRequest look;
        look.filters = {{"DocumentName", kDocument},
                        {"InvokedAfter", aws::CommandFilterTime(since - kLookSkewMs)}};
        look.max_results = 50;
        std::map<std::string, std::string> found;
        int pages = 0;
        auto& ssm = *t.ctx.aws().ssm;
        const Status listed = t.Io([&] {
          return aws::ForEachPageUntil(
              std::move(look), [&](const auto& r) { return ssm.ListCommandInvocations(r); },
              [&](const aws::ListCommandInvocationsResponse& page) -> Result<aws::Paging> {
                for (const auto& inv : page.invocations) {
                  found[inv.command_id + "/" + inv.instance_id] = inv.status;
                }
                return ++pages == kCommandLookPages ? aws::Paging::kDone : aws::Paging::kNext;
              });
        });
        run.command_status = std::move(found);
        return listed;
      });
}

// Whether `other` sends its command in this run, as `i` does: its token checkpointed, no command.
bool SendsNow(const v1::PatchInstanceState& i, const v1::PatchInstanceState& other) {
  return other.batch() == i.batch() && other.phase() == kCommand &&
         !other.command_token().empty() && other.command_id().empty();
}

// The search for commands a run before a crash sent, once a run for the batch's instances about
// to send theirs (the "found by ListCommands, the request id in the comment"): the
// document's commands since the earliest of their tokens, by the token in their comment. Instead
// of one search of its invocations per instance, which stays for a listing too long to read
// (kCommandSearchPages) and for an instance the search did not cover.
void SearchForSentCommands(PatchTick& t, const v1::PatchInstanceState& i) {
  RunShared& run = *t.shared;
  (void)t.ShareRead(
      "command-search", [&] { return run.searched_tokens.count(i.command_token()) > 0; },
      [&]() -> Status {
        std::set<std::string> tokens;
        int64_t since = t.now_ms;
        for (const auto& other : t.state.instances()) {
          if (other.instance_id() != i.instance_id() && !SendsNow(i, other)) continue;
          tokens.insert(other.command_token());
          since = std::min(since, other.phase_started_ms());
        }
        run.searched_tokens = tokens;
        run.sent_by_token.clear();
        run.searched_all = false;
        aws::ListCommandsRequest search;
        search.filters = {{"DocumentName", kDocument},
                          {"InvokedAfter", aws::CommandFilterTime(since - kSearchSkewMs)}};
        search.max_results = 50;
        int pages = 0;
        bool ended = true;
        auto& ssm = *t.ctx.aws().ssm;
        Status listed = t.Io([&] {
          return aws::ForEachPageUntil(
              std::move(search), [&](const auto& r) { return ssm.ListCommands(r); },
              [&](const aws::ListCommandsResponse& page) -> Result<aws::Paging> {
                for (const auto& c : page.commands) {
                  for (const auto& token : tokens) {
                    if (c.comment.find(token) != std::string::npos) {
                      run.sent_by_token[token] = c.command_id;
                    }
                  }
                }
                if (++pages < kCommandSearchPages || page.next_token.empty()) {
                  return aws::Paging::kNext;
                }
                ended = false;
                return aws::Paging::kDone;
              });
        });
        run.searched_all = listed.ok() && ended;
        return listed;  // an error: each instance searches its own invocations
      });
}

// An instance's own search of its invocations for its token; "" when not found within
// kCommandSearchPages pages (an instance that runs many commands is patched, not failed on
// pagination.h's page cap).
Result<std::string> SearchOwnInvocations(PatchTick& t, const v1::PatchInstanceState& i) {
  auto& ssm = *t.ctx.aws().ssm;
  aws::ListCommandInvocationsRequest list;
  list.instance_id = i.instance_id();
  const std::string token = i.command_token();
  std::string found;
  int pages = 0;
  const Status listed = t.Io([&] {
    return aws::ForEachPageUntil(
        std::move(list), [&](const auto& r) { return ssm.ListCommandInvocations(r); },
        [&](const aws::ListCommandInvocationsResponse& page) -> Result<aws::Paging> {
          for (const auto& inv : page.invocations) {
            if (inv.document_name == kDocument && inv.comment.find(token) != std::string::npos) {
              found = inv.command_id;
            }
          }
          return !found.empty() || ++pages == kCommandSearchPages ? aws::Paging::kDone
                                                                  : aws::Paging::kNext;
        });
  });
  if (!listed.ok()) return listed.error();
  return found;
}

}  // namespace

Progress Command(PatchTick& t, v1::PatchInstanceState& i) {
  if (i.command_token().empty()) {
    // The token is checkpointed before the command is sent: a run after a crash looks for it.
    i.set_command_token(t.ctx.IdempotencyToken("patch-command:" + i.instance_id()).substr(0, 32));
    return Progress::kCheckpoint;
  }
  SearchForSentCommands(t, i);
  const RunShared& run = *t.shared;
  std::string found;
  if (auto hit = run.sent_by_token.find(i.command_token()); hit != run.sent_by_token.end()) {
    found = hit->second;
  } else if (!run.searched_all || run.searched_tokens.count(i.command_token()) == 0) {
    auto own = SearchOwnInvocations(t, i);
    if (!own.ok()) {
      return OnError(t, i, "list-command-invocations", own.error(), t.plan.command_timeout_ms);
    }
    found = *own;
  }
  if (!found.empty()) {
    i.set_command_id(found);
    t.Record(Resource(i.instance_id()), "send-command", "succeeded",
             fmt::format("{} found after a restart (token {}): not sent again", found,
                         i.command_token()));
    Enter(t, i, kCommandWait, Progress::kCheckpoint);
    // SSM knows the invocation a moment after SendCommand: the first look is on the grid.
    i.set_next_poll_ms(NextPollOnGrid(t.now_ms, t.plan.poll_interval_ms));
    return Progress::kCheckpoint;
  }
  aws::SendCommandRequest req;
  req.document_name = kDocument;
  req.instance_ids = {i.instance_id()};
  req.parameters = {{"Operation", {t.plan.operation}}, {"RebootOption", {t.plan.reboot_option}}};
  req.timeout_seconds = 600;
  req.comment =
      fmt::format("fleetkeeper {} {}", t.request.request_id().substr(0, 40), i.command_token());
  auto& ssm = *t.ctx.aws().ssm;
  auto sent = t.Io([&] { return ssm.SendCommand(req); });
  if (!sent.ok()) return OnError(t, i, "send-command", sent.error(), t.plan.command_timeout_ms);
  i.set_command_id(sent->command_id);
  t.Record(Resource(i.instance_id()), "send-command", "succeeded",
           fmt::format("{} {} Operation={} RebootOption={}", kDocument, sent->command_id,
                       t.plan.operation, t.plan.reboot_option));
  Enter(t, i, kCommandWait, Progress::kCheckpoint);
  // SSM knows the invocation a moment after SendCommand: the first look is on the grid.
  i.set_next_poll_ms(NextPollOnGrid(t.now_ms, t.plan.poll_interval_ms));
  return Progress::kCheckpoint;
}

Progress CommandWait(PatchTick& t, v1::PatchInstanceState& i) {
  std::string status = SignalledStatus(t, i);
  if (!Terminal(status) && t.now_ms >= i.next_poll_ms()) {
    LookAtCommands(t, i);
    const auto& looked = t.shared->command_status;
    if (auto seen = looked.find(i.command_id() + "/" + i.instance_id()); seen != looked.end()) {
      status = seen->second;
    } else {
      auto& ssm = *t.ctx.aws().ssm;
      const aws::GetCommandInvocationRequest get{i.command_id(), i.instance_id(), ""};
      auto r = t.Io([&] { return ssm.GetCommandInvocation(get); });
      if (r.ok()) {
        status = r->status;
      } else if (!NotYetInvoked(r.error()) && !r.error().retriable) {
        return OnError(t, i, "get-command-invocation", r.error(), t.plan.command_timeout_ms);
      }
    }
    i.set_next_poll_ms(NextPollOnGrid(t.now_ms, t.plan.poll_interval_ms));
  }
  if (!status.empty()) i.set_command_status(status);
  t.wait_signals.insert("ssm-command:" + i.command_id());
  if (!Terminal(status)) {
    if (TimedOut(t, i, t.plan.command_timeout_ms)) {
      return Fail(t, i,
                  fmt::format("command {} not finished within {}s (last status {})", i.command_id(),
                              t.plan.command_timeout_ms / 1000,
                              i.command_status().empty() ? "unknown" : i.command_status()));
    }
    i.set_detail(
        fmt::format("waiting: command {} {}", i.command_id(), status.empty() ? "sent" : status));
    t.WakeAt(i.next_poll_ms());
    return Progress::kWait;
  }
  if (status != "Success") {
    return Fail(t, i, fmt::format("{} command {} ended {}", kDocument, i.command_id(), status));
  }
  const bool may_reboot = t.plan.operation == "Install" && t.plan.reboot_option != "NoReboot";
  return Enter(t, i, may_reboot ? kStatusOk : kVerify, Progress::kCheckpoint);
}

}  // namespace fleetkeeper::handlers::patch
