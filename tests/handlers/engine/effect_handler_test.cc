// The test-only effect handler the durability tests run (tests/testing/effect_handler.h): its
// steps, and its effect against a loopback server that records the request.
#include "tests/testing/effect_handler.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <google/protobuf/wrappers.pb.h>

#include <string>
#include <thread>

#include "awsclient/clients.h"
#include "common/clock.h"

namespace fleetkeeper::handlers::testing {
namespace {

using ::testing::HasSubstr;

class Context final : public StepContext {
 public:
  explicit Context(v1::WorkflowCheckpoint wf) : wf_(std::move(wf)) {}
  const v1::WorkflowCheckpoint& workflow() const override { return wf_; }
  google::protobuf::Any* mutable_state() override { return wf_.mutable_state(); }
  aws::CellClients& aws() override { return cell_; }
  const Clock& clock() const override { return clock_; }
  bool dry_run() const override { return false; }
  const std::vector<v1::Event>& signals() const override { return signals_; }
  std::string IdempotencyToken(const std::string& d) const override {
    return wf_.workflow_id() + "|" + wf_.step() + "|" + std::to_string(wf_.attempt()) + "|" + d;
  }
  std::vector<v1::Event> signals_;

 private:
  v1::WorkflowCheckpoint wf_;
  aws::CellClients cell_;
  ManualClock clock_;
};

// Accepts one HTTP request on 127.0.0.1, keeps it, answers `status`.
class OneShotServer {
 public:
  explicit OneShotServer(int status) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 1);
    thread_ = std::thread([this, status] {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      for (;;) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
        size_t head = request_.find("\r\n\r\n");
        if (head != std::string::npos) {
          size_t cl = request_.find("Content-Length: ");
          size_t want = cl == std::string::npos ? 0 : std::stoul(request_.substr(cl + 16));
          if (request_.size() >= head + 4 + want) break;
        }
      }
      std::string answer = "HTTP/1.1 " + std::to_string(status) +
                           " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!write(c, answer.data(), answer.size());
      close(c);
    });
  }
  ~OneShotServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/effect"; }
  std::string request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

v1::Event Command() {
  v1::Event e;
  e.set_id("req-1");
  e.set_dedup_key("ecs:req-1");
  e.set_account("111122223333");
  e.set_region("eu-west-1");
  e.mutable_ecs_command()->set_request_id("req-1");
  e.mutable_ecs_command()->set_cluster("web");
  e.mutable_ecs_command()->set_action("scale");
  return e;
}

v1::WorkflowCheckpoint Admitted(EffectHandler& h) {
  v1::WorkerConfig config;
  ManualClock clock;
  AdmissionContext ctx{config, clock};
  Admission a = h.Admit(Command(), ctx);
  EXPECT_EQ(a.kind, Admission::Kind::kWorkflow);
  return a.workflow;
}

TEST(EffectHandler, AdmitsEcsCommandsAsWorkflowsLockingTheCluster) {
  EffectHandler h({});
  v1::WorkflowCheckpoint wf = Admitted(h);
  EXPECT_EQ(wf.workflow_id(), WorkflowId("111122223333", "eu-west-1", "test-effect", "ecs:req-1"));
  // Workflow ids outlive a version (checkpoints in fleet.state, locks): SHA-256("ecs:req-1"), first
  // 8 bytes, computed independently (Python's hashlib).
  EXPECT_EQ(wf.workflow_id(), "111122223333/eu-west-1/test-effect-fa4f12ff586121e6");
  EXPECT_EQ(wf.handler(), "test_effect");
  EXPECT_EQ(wf.step(), "arm");
  EXPECT_EQ(h.LockedResources(wf), std::vector<std::string>{"test:web"});
  EXPECT_TRUE(h.StepMutates("effect"));
  EXPECT_FALSE(h.StepMutates("arm"));
  EXPECT_FALSE(h.StepMutates("await"));

  v1::Event other;
  other.mutable_alarm()->set_alarm_name("a");
  v1::WorkerConfig config;
  ManualClock clock;
  Admission a = h.Admit(other, AdmissionContext{config, clock});
  EXPECT_EQ(a.kind, Admission::Kind::kFinal);
  EXPECT_EQ(a.status, v1::Result::REJECTED);
}

TEST(EffectHandler, ArmWaitsThenAwaitWaitsForItsApprovalOrATimer) {
  EffectHandler h({});
  v1::WorkflowCheckpoint wf = Admitted(h);
  Context arm(wf);
  StepOutcome o = h.RunStep("arm", arm);
  EXPECT_EQ(o.kind, StepOutcome::Kind::kWait);
  EXPECT_EQ(o.next_step, "await");
  EXPECT_EQ(o.wait_ms, 300);

  wf.set_step("await");
  Context await(wf);
  o = h.RunStep("await", await);
  EXPECT_EQ(o.kind, StepOutcome::Kind::kWait);
  EXPECT_EQ(o.next_step, "effect");
  EXPECT_EQ(o.wait_ms, 1500);
  EXPECT_EQ(o.wait_signals, std::vector<std::string>{"approval:" + wf.workflow_id()});

  Context approved(wf);
  v1::Event approval;
  approval.mutable_approval()->set_workflow_id(wf.workflow_id());
  approved.signals_.push_back(approval);
  o = h.RunStep("await", approved);
  EXPECT_EQ(o.kind, StepOutcome::Kind::kNext);
  EXPECT_EQ(o.next_step, "effect");
}

TEST(EffectHandler, EffectPostsTheWorkflowIdWithItsIdempotencyKey) {
  OneShotServer server(200);
  EffectHandlerOptions o;
  o.url = server.url();
  EffectHandler h(o);
  v1::WorkflowCheckpoint wf = Admitted(h);
  wf.set_step("effect");
  wf.set_attempt(2);
  Context ctx(wf);
  StepOutcome out = h.RunStep("effect", ctx);
  EXPECT_EQ(out.kind, StepOutcome::Kind::kFinish);
  EXPECT_EQ(out.status, v1::Result::SUCCEEDED);
  std::string request = server.request();
  EXPECT_THAT(request, HasSubstr("POST /effect HTTP/1.1"));
  EXPECT_THAT(request, HasSubstr("Idempotency-Key: " + wf.workflow_id() + "|effect|2|effect"));
  EXPECT_THAT(request, HasSubstr("\r\n\r\n" + wf.workflow_id()));
  EXPECT_EQ(h.effects_sent(), 1);
}

TEST(EffectHandler, EffectRetriesTheStepOnAnErrorStatusOrNoServer) {
  OneShotServer server(503);
  EffectHandlerOptions o;
  o.url = server.url();
  EffectHandler h(o);
  v1::WorkflowCheckpoint wf = Admitted(h);
  wf.set_step("effect");
  Context ctx(wf);
  StepOutcome out = h.RunStep("effect", ctx);
  EXPECT_EQ(out.kind, StepOutcome::Kind::kWait);
  EXPECT_EQ(out.next_step, "effect");
  EXPECT_TRUE(out.retry_same_step);
  EXPECT_EQ(out.reason, "effect answered HTTP 503");

  EffectHandlerOptions closed;
  closed.url = "http://127.0.0.1:1/effect";  // nothing listens on port 1
  EffectHandler nobody(closed);
  out = nobody.RunStep("effect", ctx);
  EXPECT_TRUE(out.retry_same_step);
  EXPECT_THAT(out.reason, HasSubstr("effect failed: "));
}

TEST(EffectHandler, UnknownStepOrNoUrlFailsTheWorkflowWithAReason) {
  EffectHandler h({});
  v1::WorkflowCheckpoint wf = Admitted(h);
  Context ctx(wf);
  StepOutcome out = h.RunStep("renamed-step", ctx);
  EXPECT_EQ(out.status, v1::Result::FAILED);
  EXPECT_EQ(out.reason, "test_effect: unknown step renamed-step");
  out = h.RunStep("effect", ctx);
  EXPECT_EQ(out.status, v1::Result::FAILED);
  EXPECT_THAT(out.reason, HasSubstr("FK_TEST_EFFECT_URL"));
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
