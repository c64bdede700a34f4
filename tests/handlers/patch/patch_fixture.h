// The rolling patch workflow's test fixture: the fake AWS account (tests/testing/fake_account.h)
// plus the Systems Manager behaviour patching needs: commands that run for one status read and end
// Success (or Failed for chosen instances), invocations listed with their comment (in pages when
// asked), managed instances Online, and patch states before and after; and a driver that runs the
// workflow step by step like the runtime.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "handlers/patch/handler.h"
#include "handlers/patch/steps.h"
#include "tests/testing/fake_account.h"

namespace fleetkeeper::handlers::patch::testing {

using handlers::testing::FakeAccount;
using ::testing::_;
using ::testing::Invoke;

inline constexpr char kAccount[] = "111122223333";
inline constexpr char kRegion[] = "us-east-1";

// Systems Manager over the fleet's instances.
struct FakeSsm {
  struct Sent {
    std::string id;
    std::string instance;
    std::string comment;
    std::string operation;
    int reads = 0;
  };
  FakeAccount& fleet;
  std::vector<Sent> commands;
  std::set<std::string> failing;  // commands on these end Failed
  std::set<std::string> offline;  // ConnectionLost
  std::vector<std::string>
      calls;  // mutating calls in order: "CreateImage i-..", "SendCommand i-.."
  // ListCommandInvocations: invocations of another document listed before this fleet's commands
  // for each instance, the page size (0: one page), and every request as "<instance>@<token>".
  int other_invocations = 0;
  size_t page_size = 0;
  std::vector<std::string> list_requests;
  // ListCommands (the batch's search for sent commands): commands of this document from other
  // campaigns listed before this fleet's (newest first), and every request's NextToken.
  int other_patch_commands = 0;
  std::vector<std::string> search_requests;
  int looks = 0;  // ListCommandInvocations pages read by DocumentName (a batch's command look)
  int gets = 0;   // GetCommandInvocation requests
  std::vector<size_t> patch_state_reads;  // DescribeInstancePatchStates: the ids of each request

  FakeSsm(handlers::testing::MockCell& cell, FakeAccount& f) : fleet(f) {
    ON_CALL(*cell.ssm, SendCommand(_))
        .WillByDefault(Invoke([this](const aws::SendCommandRequest& r) -> Result<aws::Command> {
          Sent s{"cmd-" + std::to_string(commands.size() + 1), r.instance_ids.at(0), r.comment,
                 r.parameters.at("Operation").at(0)};
          commands.push_back(s);
          calls.push_back("SendCommand " + s.instance);
          return aws::Command{s.id, r.document_name, "Pending", r.instance_ids, 0};
        }));
    ON_CALL(*cell.ssm, GetCommandInvocation(_))
        .WillByDefault(Invoke([this](const aws::GetCommandInvocationRequest& r)
                                  -> Result<aws::CommandInvocationDetail> {
          aws::CommandInvocationDetail d;
          d.command_id = r.command_id;
          d.instance_id = r.instance_id;
          ++gets;
          Sent& s = Find(r.command_id);
          if (s.reads == 0) {
            // As SSM answers right after SendCommand, before the invocation exists.
            ++s.reads;
            Error e(ErrorCode::kAws, "InvocationDoesNotExist");
            e.aws_code = "InvocationDoesNotExist";
            return e;
          }
          d.status = Status(s);
          return d;
        }));
    ON_CALL(*cell.ssm, ListCommandInvocations(_))
        .WillByDefault(Invoke([this](const aws::ListCommandInvocationsRequest& r)
                                  -> Result<aws::ListCommandInvocationsResponse> {
          list_requests.push_back(r.instance_id + "@" + r.next_token);
          // A look by DocumentName (and InvokedAfter, not modelled: every command is recent) is a
          // status read of each command it lists, like GetCommandInvocation.
          const auto document = r.filters.find("DocumentName");
          auto listed = [&](const std::string& name) {
            return document == r.filters.end() || document->second == name;
          };
          std::vector<aws::CommandInvocation> all;
          for (int k = 0; k < other_invocations && listed("AWS-RunShellScript"); ++k) {
            aws::CommandInvocation i;
            i.command_id = "cmd-other-" + std::to_string(k);
            i.instance_id = r.instance_id;
            i.document_name = "AWS-RunShellScript";
            i.status = "Success";
            all.push_back(i);
          }
          for (auto& s : commands) {
            if (!r.instance_id.empty() && s.instance != r.instance_id) continue;
            if (!listed(kDocument)) continue;
            aws::CommandInvocation i;
            i.command_id = s.id;
            i.instance_id = s.instance;
            i.document_name = kDocument;
            i.comment = s.comment;
            i.status = Status(s);
            all.push_back(i);
          }
          // NextToken: the index of the page's first invocation.
          const size_t start = r.next_token.empty() ? 0 : std::stoul(r.next_token);
          const size_t end = page_size == 0 ? all.size() : std::min(all.size(), start + page_size);
          aws::ListCommandInvocationsResponse out;
          for (size_t k = start; k < end; ++k) out.invocations.push_back(all[k]);
          if (end < all.size()) out.next_token = std::to_string(end);
          if (document != r.filters.end()) {
            for (const auto& i : out.invocations) {
              if (i.document_name == kDocument) ++Find(i.command_id).reads;
            }
            ++looks;
          }
          return out;
        }));
    ON_CALL(*cell.ssm, ListCommands(_))
        .WillByDefault(
            Invoke([this](const aws::ListCommandsRequest& r) -> Result<aws::ListCommandsResponse> {
              search_requests.push_back(r.next_token);
              // By DocumentName (InvokedAfter not modelled: every command is recent).
              EXPECT_EQ(r.filters.at("DocumentName"), kDocument);
              std::vector<aws::Command> all;
              for (int k = 0; k < other_patch_commands; ++k) {
                aws::Command c;
                c.command_id = "cmd-elsewhere-" + std::to_string(k);
                c.document_name = kDocument;
                c.comment = "another campaign";
                all.push_back(c);
              }
              for (auto& s : commands) {
                aws::Command c;
                c.command_id = s.id;
                c.document_name = kDocument;
                c.instance_ids = {s.instance};
                c.comment = s.comment;
                all.push_back(c);
              }
              const size_t start = r.next_token.empty() ? 0 : std::stoul(r.next_token);
              const size_t end =
                  page_size == 0 ? all.size() : std::min(all.size(), start + page_size);
              aws::ListCommandsResponse out;
              out.commands.assign(all.begin() + start, all.begin() + end);
              if (end < all.size()) out.next_token = std::to_string(end);
              return out;
            }));
    ON_CALL(*cell.ssm, DescribeInstanceInformation(_))
        .WillByDefault(Invoke([this](const aws::DescribeInstanceInformationRequest& r)
                                  -> Result<aws::DescribeInstanceInformationResponse> {
          aws::DescribeInstanceInformationResponse out;
          for (const auto& id : r.filters.at("InstanceIds")) {
            const auto& i = fleet.instances.at(id).instance;
            if (i.state.name == "terminated") continue;
            aws::InstanceInformation info;
            info.instance_id = id;
            info.ping_status =
                i.state.name == "running" && !offline.count(id) ? "Online" : "ConnectionLost";
            out.instances.push_back(info);
          }
          return out;
        }));
    ON_CALL(*cell.ssm, DescribeInstancePatchStates(_))
        .WillByDefault(Invoke([this](const aws::DescribeInstancePatchStatesRequest& r)
                                  -> Result<aws::DescribeInstancePatchStatesResponse> {
          aws::DescribeInstancePatchStatesResponse out;
          patch_state_reads.push_back(r.instance_ids.size());
          for (const auto& id : r.instance_ids) {
            aws::InstancePatchState st;
            st.instance_id = id;
            st.missing = 3;
            st.installed = 40;
            for (auto& s : commands) {
              if (s.instance != id || Status(s) != "Success" || s.operation != "Install") continue;
              st.missing = 0;
              st.installed = 43;
            }
            out.states.push_back(st);
          }
          return out;
        }));
    ON_CALL(*cell.ec2, CreateImage(_))
        .WillByDefault(
            Invoke([this](const aws::CreateImageRequest& r) -> Result<aws::CreateImageResponse> {
              calls.push_back("CreateImage " + r.instance_id);
              const std::string id = "ami-backup" + std::to_string(calls.size());
              fleet.AddImage(id, "available");
              return aws::CreateImageResponse{id};
            }));
  }

  Sent& Find(const std::string& id) {
    for (auto& s : commands) {
      if (s.id == id) return s;
    }
    throw std::runtime_error("no command " + id);
  }
  // InProgress until the first status read, then the instance's final status.
  std::string Status(const Sent& s) const {
    if (s.reads == 0) return "InProgress";
    return failing.count(s.instance) ? "Failed" : "Success";
  }
  int SendsTo(const std::string& instance) const {
    int n = 0;
    for (const auto& s : commands) n += s.instance == instance ? 1 : 0;
    return n;
  }
};

class PatchWorkflow : public ::testing::Test {
 protected:
  PatchWorkflow() : fleet(cell), ssm(cell, fleet) {
    ApplyPatchDefaults(*config.mutable_handlers()->mutable_patch());
    config.mutable_handlers()->mutable_patch()->mutable_defaults()->set_max_unavailable("50%");
    // The fakes are not thread-safe: the instances of a batch advance one after another here (the
    // end-to-end tests run them at once against moto).
    config.mutable_handlers()->mutable_patch()->set_parallel_instances(1);
  }

  // A landing zone of `n` running instances, half in each of two target groups.
  std::vector<std::string> LandingZone(int n) {
    std::vector<std::string> ids;
    for (int k = 0; k < n; ++k) {
      ids.push_back(fleet.AddInstance("ami-old", {{"Environment", "prod"}}).instance.id);
    }
    tg_a = fleet.AddTargetGroup("web-a", {ids.begin(), ids.begin() + n / 2});
    tg_b = fleet.AddTargetGroup("web-b", {ids.begin() + n / 2, ids.end()});
    return ids;
  }

  v1::Event Request(const std::function<void(v1::PatchRequest&)>& edit = {}) {
    v1::Event e;
    e.set_id("evt-1");
    e.set_dedup_key("patch:chg-1");
    e.set_account(kAccount);
    e.set_region(kRegion);
    auto* r = e.mutable_patch_request();
    r->set_request_id("chg-1");
    r->set_requested_by("alice");
    r->add_targets()->set_landing_zone("prod");
    r->set_max_concurrency("25%");
    r->set_max_errors("1");
    if (edit) edit(*r);
    return e;
  }

  Admission Admit(const v1::Event& e) {
    handler = std::make_unique<PatchHandler>(config);
    return handler->Admit(e, AdmissionContext{config, clock, false, nullptr});
  }

  // Drives the workflow like the runtime; after every step `observe` runs. Returns the final
  // outcome (or the last one after `max_steps`).
  StepOutcome Drive(v1::WorkflowCheckpoint& wf, const std::function<void()>& observe = {},
                    std::vector<v1::Event> signals = {}, int max_steps = 2000) {
    StepOutcome o;
    for (int k = 0; k < max_steps; ++k) {
      handlers::testing::FakeStepContext ctx(&wf, &cell.clients, &clock);
      ctx.mutable_signals() = signals;
      signals.clear();
      o = handler->RunStep(wf.step(), ctx);
      for (const auto& a : o.actions) *wf.add_actions() = a;
      if (o.publish_progress) notes.push_back(o.reason);
      if (observe) observe();
      if (o.kind == StepOutcome::Kind::kFinish) break;
      if (o.kind == StepOutcome::Kind::kWait) clock.Advance(o.wait_ms > 0 ? o.wait_ms : 1000);
      wf.set_attempt(o.retry_same_step ? wf.attempt() + 1
                                       : (o.next_step == wf.step() ? wf.attempt() : 0));
      wf.set_step(o.next_step);
      if (o.kind == StepOutcome::Kind::kWait && !wait_signals_seen.empty() &&
          o.wait_signals.empty()) {
        wait_signals_seen.clear();
      }
      for (const auto& s : o.wait_signals) wait_signals_seen.insert(s);
    }
    return o;
  }

  // Drives the workflow a step at a time until it waits for an approval; that wait.
  StepOutcome DriveToApprovalWait(v1::WorkflowCheckpoint& wf) {
    StepOutcome o;
    for (int k = 0; k < 200; ++k) {
      o = Drive(wf, {}, {}, 1);
      if (!o.wait_signals.empty() && o.wait_signals.front() == "approval:" + wf.workflow_id()) {
        break;
      }
    }
    return o;
  }

  // Runs single steps until the first command is sent; the checkpoint from just before that step
  // (it holds the command's token, not the command), as a crash right after the send leaves it.
  v1::WorkflowCheckpoint RunUntilFirstSend(v1::WorkflowCheckpoint& wf) {
    v1::WorkflowCheckpoint before_send;
    for (int k = 0; k < 200 && ssm.commands.empty(); ++k) {
      before_send = wf;
      handlers::testing::FakeStepContext ctx(&wf, &cell.clients, &clock);
      StepOutcome o = handler->RunStep(wf.step(), ctx);
      EXPECT_NE(o.kind, StepOutcome::Kind::kFinish) << o.reason;
      if (o.kind == StepOutcome::Kind::kWait) clock.Advance(o.wait_ms);
      wf.set_step(o.next_step);
    }
    EXPECT_EQ(ssm.commands.size(), 1u);
    return before_send;
  }

  // Whether a command was adopted after a restart instead of being sent again.
  static bool FoundAgain(const v1::WorkflowCheckpoint& wf) {
    for (const auto& act : wf.actions()) {
      if (act.detail().find("found after a restart") != std::string::npos) return true;
    }
    return false;
  }

  // Originals out of their target groups right now.
  int Drained(const std::vector<std::string>& ids) {
    int n = 0;
    for (const auto& id : ids) {
      bool in = false;
      for (const auto& [arn, tg] : fleet.target_groups) in |= tg.targets.count(id) > 0;
      n += in ? 0 : 1;
    }
    return n;
  }

  const v1::Action* FinalAction(const v1::WorkflowCheckpoint& wf, const std::string& id) {
    const v1::Action* last = nullptr;
    for (const auto& a : wf.actions()) {
      if (a.resource() == Resource(id) && a.action() == "patch") last = &a;
    }
    return last;
  }

  handlers::testing::MockCell cell;
  FakeAccount fleet;
  FakeSsm ssm;
  ManualClock clock;
  v1::WorkerConfig config;
  std::unique_ptr<PatchHandler> handler;
  std::string tg_a, tg_b;
  std::vector<std::string> notes;
  std::set<std::string> wait_signals_seen;
};

}  // namespace fleetkeeper::handlers::patch::testing
