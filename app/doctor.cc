#include "app/doctor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <set>
#include <thread>

#include "app/aws_wiring.h"
#include "app/config.h"
#include "app/permissions_cmd.h"
#include "awsclient/pagination.h"
#include "common/log.h"
#include "common/raii.h"
#include "consumers/kafka.h"
#include "consumers/kafka_clients.h"
#include "consumers/topics.h"

namespace fleetkeeper::app {
namespace {

constexpr int kKafkaTimeoutMs = 10000;
constexpr size_t kMaxDeniedListed = 8;
constexpr int kMaxSimulationPages = 50;

DoctorCheck Ok(std::string name, std::string detail) {
  return {CheckOutcome::kOk, std::move(name), std::move(detail)};
}
DoctorCheck Fail(std::string name, std::string detail) {
  return {CheckOutcome::kFail, std::move(name), std::move(detail)};
}
DoctorCheck Warn(std::string name, std::string detail) {
  return {CheckOutcome::kWarn, std::move(name), std::move(detail)};
}

std::string Join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

// An AWS error for a doctor line: the service's code when there is one, not the whole envelope.
std::string Describe(const Error& e) {
  std::string out = e.message;
  if (!e.aws_code.empty() && out.find(e.aws_code) == std::string::npos) {
    out += " (" + e.aws_code + ")";
  }
  return out;
}

bool IsAccessDenied(const Error& e) {
  return e.code == ErrorCode::kUnauthorized || e.aws_code.find("AccessDenied") == 0 ||
         e.http_status == 403;
}

consumers::TopicPlan PlanOf(const v1::WorkerConfig& config) {
  consumers::TopicPlan plan;
  plan.inputs = InputTopics(config);
  plan.work = WorkTopic(config);
  plan.results = ResultsTopic(config);
  plan.dlq = DlqTopic(config);
  plan.state = StateTopic(config);
  plan.control = ControlTopic(config);
  plan.create = CreateTopics(config);
  plan.partitions = TopicPartitions(config);
  plan.max_message_bytes = MaxMessageBytes(config);
  plan.replication_factor = ReplicationFactor(config);
  return plan;
}

// Simulates the declared actions for `principal` with `iam` on `resources` (empty: "*"),
// following the Marker pages.
DoctorCheck SimulateHandler(aws::Iam& iam, const std::string& principal,
                            const handlers::DeclaredActions& handler,
                            const std::vector<std::string>& resources = {}) {
  const std::string name = "permissions " + handler.owner;
  aws::SimulatePrincipalPolicyRequest request;
  request.policy_source_arn = principal;
  request.action_names = handler.actions;
  request.resource_arns = resources;
  std::vector<std::string> denied;
  size_t evaluated = 0;
  const Status paged = aws::ForEachPage(
      request, [&](const auto& page) { return iam.SimulatePrincipalPolicy(page); },
      [&](const auto& response) -> Status {
        for (const auto& r : response.results) {
          ++evaluated;
          if (r.decision == "allowed") continue;
          const bool on_resource = !r.resource_name.empty() && r.resource_name != "*";
          denied.push_back(r.action_name + (on_resource ? " on " + r.resource_name : "") + " (" +
                           r.decision + ")");
        }
        return fleetkeeper::Ok{};
      },
      kMaxSimulationPages);
  if (!paged.ok()) {
    const Error& e = paged.error();
    if (IsAccessDenied(e)) {
      return Warn(name, fmt::format("cannot simulate: {} may not call "
                                    "iam:SimulatePrincipalPolicy ({}); the {} actions of this "
                                    "handler were not checked",
                                    principal, Describe(e), handler.actions.size()));
    }
    return Warn(name, fmt::format("cannot simulate for {}: {}; the {} actions of this handler "
                                  "were not checked",
                                  principal, Describe(e), handler.actions.size()));
  }
  if (!denied.empty()) {
    std::sort(denied.begin(), denied.end());
    size_t shown = std::min(denied.size(), kMaxDeniedListed);
    std::vector<std::string> listed(denied.begin(), denied.begin() + static_cast<long>(shown));
    return Fail(name, fmt::format("{} of {} actions not allowed for {}: {}{}", denied.size(),
                                  handler.actions.size(), principal, Join(listed),
                                  denied.size() > shown ? ", ..." : ""));
  }
  if (evaluated < handler.actions.size()) {
    return Warn(name, fmt::format("the simulation answered for {} of {} actions of {}", evaluated,
                                  handler.actions.size(), principal));
  }
  return Ok(name, fmt::format("{} actions allowed for {}", handler.actions.size(), principal));
}

}  // namespace

std::string FormatCheck(const DoctorCheck& check) {
  const char* status = "ok";
  switch (check.outcome) {
    case CheckOutcome::kOk:
      status = "ok";
      break;
    case CheckOutcome::kWarn:
      status = "warn";
      break;
    case CheckOutcome::kFail:
      status = "FAIL";
      break;
    case CheckOutcome::kSkip:
      status = "skip";
      break;
  }
  return fmt::format("{:<5} {}: {}", status, check.name, check.detail);
}

bool AnyFailed(const std::vector<DoctorCheck>& checks) {
  return std::any_of(checks.begin(), checks.end(),
                     [](const DoctorCheck& c) { return c.outcome == CheckOutcome::kFail; });
}

std::string PolicySourceArn(const std::string& caller_arn) {
  // arn:<partition>:sts::<account>:assumed-role/<name>/<session>
  std::vector<std::string> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = caller_arn.find(':', start);
    if (colon == std::string::npos) return caller_arn;
    parts.push_back(caller_arn.substr(start, colon - start));
    start = colon + 1;
  }
  std::string resource = caller_arn.substr(start);
  if (parts[0] != "arn" || parts[2] != "sts" || resource.rfind("assumed-role/", 0) != 0) {
    return caller_arn;
  }
  std::string rest = resource.substr(std::string("assumed-role/").size());
  std::string role = rest.substr(0, rest.find('/'));
  if (role.empty()) return caller_arn;
  return fmt::format("arn:{}:iam::{}:role/{}", parts[1], parts[4], role);
}

std::vector<DoctorCheck> KafkaChecks(const v1::WorkerConfig& config, int timeout_ms) {
  std::vector<DoctorCheck> out;
  const std::string bootstrap = BootstrapServers(config);
  if (bootstrap.empty()) {
    out.push_back(Ok("kafka",
                     "no kafka.bootstrap.servers: `run` starts the embedded in-memory "
                     "broker (nothing is kept across restarts)"));
    return out;
  }
  // A plain producer's properties (the one filter by role): the worker's consumer and
  // transaction settings would only produce warnings here.
  const consumers::KafkaProperties props = consumers::PropertiesFor(
      consumers::ClientRole::kProducer,
      consumers::KafkaProperties(config.kafka().begin(), config.kafka().end()));
  consumers::ClientCallbacks callbacks;
  callbacks.log_through_spdlog = false;  // a command's librdkafka lines go to stderr as they are
  auto rk = consumers::NewClient(consumers::ClientRole::kProducer, props, callbacks, "client");
  if (!rk.ok()) {
    out.push_back(Fail("kafka", rk.error().message));
    return out;
  }
  const consumers::TopicPlan wanted_plan = PlanOf(config);
  std::set<std::string> wanted_topics(wanted_plan.inputs.begin(), wanted_plan.inputs.end());
  wanted_topics.insert({wanted_plan.work, wanted_plan.results, wanted_plan.dlq, wanted_plan.state,
                        wanted_plan.control});
  auto cluster = consumers::DescribeCluster(rk->get(), wanted_topics, timeout_ms);
  if (!cluster.ok()) {
    out.push_back(Fail("kafka", fmt::format("{} {}", bootstrap, cluster.error().message)));
    return out;
  }
  const std::set<std::string>& existing = cluster->topics;
  const int brokers = cluster->brokers;
  out.push_back(Ok("kafka", fmt::format("{} reachable ({} broker{})", bootstrap, brokers,
                                        brokers == 1 ? "" : "s")));

  const consumers::TopicPlan plan = PlanOf(config);
  std::set<std::string> wanted(plan.inputs.begin(), plan.inputs.end());
  wanted.insert({plan.work, plan.results, plan.dlq, plan.state, plan.control});
  std::vector<std::string> missing;
  for (const auto& t : wanted) {
    if (!existing.count(t)) missing.push_back(t);
  }
  if (!missing.empty() && !plan.create) {
    out.push_back(
        Fail("topics", fmt::format("missing and topics.create is false: {}", Join(missing))));
    return out;
  }
  if (auto st = consumers::EnsureTopics(rk->get(), plan, timeout_ms); !st.ok()) {
    out.push_back(Fail("topics", st.error().message));
    return out;
  }
  std::string detail = fmt::format(
      "{} present; {} and {} compacted; {} and {} have the same "
      "partition count",
      wanted.size(), plan.state, plan.control, plan.work, plan.state);
  if (!missing.empty()) detail += "; created " + Join(missing);
  out.push_back(Ok("topics", detail));
  return out;
}

std::vector<DoctorCheck> AwsChecks(const v1::WorkerConfig& config,
                                   aws::CredentialsProvider& credentials,
                                   aws::ClientProvider& clients) {
  std::vector<DoctorCheck> out;
  auto source = ResolveCredentialsAtStart(credentials);
  if (!source.ok()) {
    out.push_back(Fail("credentials", source.error().message));
    out.push_back({CheckOutcome::kSkip, "caller identity", "no credentials"});
    return out;
  }
  out.push_back(Ok("credentials", "from " + *source));

  // Principals the handlers act as: the process's own identity, then each configured role.
  std::vector<std::pair<std::string, aws::CellClients*>> principals;
  auto base = clients.For("", "", "");
  if (!base.ok()) {
    out.push_back(Fail("caller identity", Describe(base.error())));
  } else if (auto who = (*base)->sts->GetCallerIdentity(); !who.ok()) {
    out.push_back(Fail("caller identity", "sts:GetCallerIdentity: " + Describe(who.error())));
  } else {
    out.push_back(Ok("caller identity", fmt::format("account {}, {}", who->account, who->arn)));
    principals.emplace_back(PolicySourceArn(who->arn), *base);
  }
  // The process's own calls (assuming the configured roles) are made with its own identity.
  const bool have_self = !principals.empty();
  std::vector<std::string> accounts;
  for (const auto& [account, _] : config.aws().accounts()) accounts.push_back(account);
  std::sort(accounts.begin(), accounts.end());
  for (const auto& account : accounts) {
    const std::string name = "role " + account;
    auto cell = clients.For(account, "", "");
    if (!cell.ok()) {
      out.push_back(Fail(name, Describe(cell.error())));
      continue;
    }
    auto who = (*cell)->sts->GetCallerIdentity();
    if (!who.ok()) {
      out.push_back(Fail(
          name, fmt::format("cannot act as {}: {}", config.aws().accounts().at(account).role_arn(),
                            Describe(who.error()))));
      continue;
    }
    out.push_back(Ok(name, "assumed: " + who->arn));
    principals.emplace_back(PolicySourceArn(who->arn), *cell);
  }

  for (const auto& declared : DeclaredPermissions(config)) {
    const std::string name = "permissions " + declared.owner;
    const bool process = declared.owner == "worker";
    if (declared.actions.empty()) {
      if (!process) out.push_back(Ok(name, "no AWS actions with this configuration"));
      continue;
    }
    if (process) {
      if (!have_self) {
        out.push_back({CheckOutcome::kSkip, name, "no identity to simulate for"});
      } else {
        out.push_back(SimulateHandler(*principals[0].second->iam, principals[0].first, declared,
                                      ConfiguredRoles(config)));
      }
      continue;
    }
    if (principals.empty()) {
      out.push_back({CheckOutcome::kSkip, name, "no identity to simulate for"});
      continue;
    }
    for (const auto& [principal, cell] : principals) {
      out.push_back(SimulateHandler(*cell->iam, principal, declared));
    }
  }
  return out;
}

int Doctor(const CommonOptions& options) {
  auto env = Environment::Process();
  auto loaded = options.config_path.empty() ? LoadConfigText("", env)
                                            : LoadConfigFile(options.config_path, env);
  const std::string config_name = options.config_path.empty() ? "(defaults)" : options.config_path;
  if (!loaded.ok()) {
    std::printf("%s\n", FormatCheck(Fail("config", config_name + " is invalid")).c_str());
    std::printf("%s\n", loaded.error().message.c_str());
    return 2;
  }
  const v1::WorkerConfig& config = loaded->config;
  // Warnings and errors of the libraries go to stderr; the checks are the report on stdout.
  InitLogging("text", "error");
  std::vector<DoctorCheck> checks;
  auto emit = [&checks](std::vector<DoctorCheck> more) {
    for (auto& c : more) {
      std::printf("%s\n", FormatCheck(c).c_str());
      std::fflush(stdout);
      checks.push_back(std::move(c));
    }
  };
  std::string detail = config_name + " is valid";
  if (!loaded->warnings.empty()) detail += "; " + Join(loaded->warnings, "; ");
  emit({Ok("config", detail)});
  emit(KafkaChecks(config, kKafkaTimeoutMs));
  auto credentials = MakeCredentials();
  auto clients = MakeClientProvider(config, {.credentials = credentials, .endpoints = {}});
  emit(AwsChecks(config, *credentials, *clients));
  size_t failed = std::count_if(checks.begin(), checks.end(), [](const DoctorCheck& c) {
    return c.outcome == CheckOutcome::kFail;
  });
  size_t warned = std::count_if(checks.begin(), checks.end(), [](const DoctorCheck& c) {
    return c.outcome == CheckOutcome::kWarn;
  });
  std::printf("doctor: %zu checks, %zu failed, %zu warnings\n", checks.size(), failed, warned);
  return failed > 0 ? 1 : 0;
}

}  // namespace fleetkeeper::app
