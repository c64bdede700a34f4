// Every SSM operation of the client against moto with authentication on. Managed-instance
// inventory, command invocations and patch states are filled by the launcher
// (scripts/motofill/ssm.py): every running EC2 instance is an Online managed instance, and
// commands end with Success at once under moto.sh's default state delay of 0.
#include <map>

#include "awsclient/pagination.h"
#include "common/clock.h"

#include "tests/awsclient/moto/moto_fixture.h"

namespace fleetkeeper::aws::moto_test {
namespace {

class SsmMoto : public MotoTest {
 protected:
  void PutParameter(const std::string& name, const std::string& value) {
    Json("ssm", kSsmTargetPrefix, "PutParameter",
         {{"Name", name}, {"Value", value}, {"Type", "String"}, {"Overwrite", true}});
  }
};

TEST_F(SsmMoto, GetParameterLatestAndByVersion) {
  const std::string name = "/fk/" + Unique("ami");
  PutParameter(name, "ami-11111111");
  PutParameter(name, "ami-22222222");

  Result<Parameter> latest = clients_->ssm->GetParameter({name, true});
  ASSERT_TRUE(latest.ok()) << latest.error().ToString();
  EXPECT_EQ(latest->name, name);
  EXPECT_EQ(latest->value, "ami-22222222");
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->type, "String");
  EXPECT_GT(latest->last_modified_ms, 0);

  Result<Parameter> first = clients_->ssm->GetParameter({name + ":1", false});
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->value, "ami-11111111");
  EXPECT_EQ(first->version, 1);

  Result<Parameter> missing = clients_->ssm->GetParameter({name + "-absent", false});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().aws_code, "ParameterNotFound");
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(SsmMoto, CommandsOnARunningInstance) {
  auto [vpc_id, subnet_id] = MakeSubnet(61);
  auto [ami, other_ami] = TwoAmis();
  const std::string id = LaunchInstance(ami, subnet_id);
  ASSERT_FALSE(id.empty());

  // The running instance is an Online managed instance; a stopped one loses its connection.
  Result<DescribeInstanceInformationResponse> info =
      clients_->ssm->DescribeInstanceInformation({{{"InstanceIds", {id}}}, {}, ""});
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  ASSERT_EQ(info->instances.size(), 1u);
  EXPECT_EQ(info->instances[0].instance_id, id);
  EXPECT_EQ(info->instances[0].ping_status, "Online");
  EXPECT_EQ(info->instances[0].platform_type, "Linux");
  EXPECT_EQ(info->instances[0].resource_type, "EC2Instance");
  EXPECT_GT(info->instances[0].last_ping_ms, 0);

  SendCommandRequest send;
  send.document_name = "AWS-RunShellScript";
  send.instance_ids = {id};
  send.parameters = {{"commands", {"uptime"}}};
  send.comment = "fleetkeeper moto test";
  send.timeout_seconds = 600;
  Result<Command> command = clients_->ssm->SendCommand(send);
  ASSERT_TRUE(command.ok()) << command.error().ToString();
  ASSERT_FALSE(command->command_id.empty());
  EXPECT_EQ(command->document_name, "AWS-RunShellScript");
  EXPECT_EQ(command->instance_ids, std::vector<std::string>{id});

  ASSERT_TRUE(WaitFor([&] {
    Result<CommandInvocationDetail> d =
        clients_->ssm->GetCommandInvocation({command->command_id, id, ""});
    return d.ok() && d->status == "Success";
  }));
  Result<CommandInvocationDetail> detail =
      clients_->ssm->GetCommandInvocation({command->command_id, id, ""});
  ASSERT_TRUE(detail.ok()) << detail.error().ToString();
  EXPECT_EQ(detail->command_id, command->command_id);
  EXPECT_EQ(detail->instance_id, id);
  EXPECT_EQ(detail->response_code, 0);

  Result<ListCommandInvocationsResponse> invocations =
      clients_->ssm->ListCommandInvocations({command->command_id, "", true, {}, ""});
  ASSERT_TRUE(invocations.ok()) << invocations.error().ToString();
  ASSERT_EQ(invocations->invocations.size(), 1u);
  const CommandInvocation& invocation = invocations->invocations[0];
  EXPECT_EQ(invocation.instance_id, id);
  EXPECT_EQ(invocation.status, "Success");
  EXPECT_EQ(invocation.document_name, "AWS-RunShellScript");
  ASSERT_EQ(invocation.plugins.size(), 1u);
  EXPECT_EQ(invocation.plugins[0].name, "aws:runShellScript");
  EXPECT_EQ(invocation.plugins[0].status, "Success");

  ASSERT_TRUE(clients_->ec2->StopInstances({{id}, {}, {}}).ok());
  ASSERT_TRUE(WaitFor([&] { return InstanceState(id) == "stopped"; }));
  Result<DescribeInstanceInformationResponse> online = clients_->ssm->DescribeInstanceInformation(
      {{{"InstanceIds", {id}}, {"PingStatus", {"Online"}}}, {}, ""});
  ASSERT_TRUE(online.ok()) << online.error().ToString();
  EXPECT_TRUE(online->instances.empty()) << "a stopped instance is not Online";
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{id}}).ok());
}

TEST_F(SsmMoto, PatchStatesAfterRunPatchBaseline) {
  auto [vpc_id, subnet_id] = MakeSubnet(62);
  auto [ami, other_ami] = TwoAmis();
  const std::string scanned = LaunchInstance(ami, subnet_id, {{"fk-test:patch-missing", "4"}});
  const std::string installed = LaunchInstance(ami, subnet_id, {{"fk-test:patch-missing", "4"}});

  Result<DescribeInstancePatchStatesResponse> before =
      clients_->ssm->DescribeInstancePatchStates({{scanned}, {}, ""});
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  EXPECT_TRUE(before->states.empty()) << "no patch operation has run yet";

  for (const auto& [id, operation] : std::vector<std::pair<std::string, std::string>>{
           {scanned, "Scan"}, {installed, "Install"}}) {
    SendCommandRequest send;
    send.document_name = "AWS-RunPatchBaseline";
    send.targets = {{"InstanceIds", {id}}};
    send.parameters = {{"Operation", {operation}}, {"RebootOption", {"NoReboot"}}};
    Result<Command> command = clients_->ssm->SendCommand(send);
    ASSERT_TRUE(command.ok()) << command.error().ToString();
  }
  std::map<std::string, InstancePatchState> by_id;
  ASSERT_TRUE(WaitFor([&] {
    Result<DescribeInstancePatchStatesResponse> states =
        clients_->ssm->DescribeInstancePatchStates({{scanned, installed}, {}, ""});
    if (!states.ok() || states->states.size() != 2) return false;
    for (const InstancePatchState& s : states->states) by_id[s.instance_id] = s;
    return true;
  }));
  EXPECT_EQ(by_id.at(scanned).operation, "Scan");
  EXPECT_EQ(by_id.at(scanned).missing, 4);
  EXPECT_EQ(by_id.at(installed).operation, "Install");
  EXPECT_EQ(by_id.at(installed).missing, 0);
  EXPECT_EQ(by_id.at(installed).reboot_option, "NoReboot");
  EXPECT_EQ(by_id.at(installed).failed, 0);
  EXPECT_GT(by_id.at(installed).installed, 0);
  EXPECT_GE(by_id.at(installed).operation_end_ms, by_id.at(installed).operation_start_ms);
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{scanned, installed}}).ok());
}

// A command look for many instances at once: every AWS-RunPatchBaseline invocation since a time,
// whatever its command (CommandFilter: DocumentName, InvokedAfter), in pages.
TEST_F(SsmMoto, ListCommandInvocationsOfADocumentSinceATime) {
  auto [vpc_id, subnet_id] = MakeSubnet(63);
  auto [ami, other_ami] = TwoAmis();
  const std::string a = LaunchInstance(ami, subnet_id);
  const std::string b = LaunchInstance(ami, subnet_id);
  auto send = [&](const std::string& document, const std::string& id,
                  std::map<std::string, std::vector<std::string>> parameters) {
    SendCommandRequest r;
    r.document_name = document;
    r.instance_ids = {id};
    r.parameters = std::move(parameters);
    Result<Command> c = clients_->ssm->SendCommand(r);
    EXPECT_TRUE(c.ok()) << c.error().ToString();
    return c.ok() ? c->command_id : std::string();
  };
  const std::string shell = send("AWS-RunShellScript", a, {{"commands", {"true"}}});
  const std::string patch_a = send("AWS-RunPatchBaseline", a, {{"Operation", {"Scan"}}});
  const std::string patch_b = send("AWS-RunPatchBaseline", b, {{"Operation", {"Scan"}}});
  const int64_t sent_ms = SystemClock::Instance().NowMs();

  ListCommandInvocationsRequest look;
  look.filters = {{"DocumentName", "AWS-RunPatchBaseline"},
                  {"InvokedAfter", CommandFilterTime(sent_ms - 60'000)}};
  look.max_results = 1;
  std::map<std::string, std::string> found;  // command id -> instance id
  int pages = 0;
  do {
    Result<ListCommandInvocationsResponse> page = clients_->ssm->ListCommandInvocations(look);
    ASSERT_TRUE(page.ok()) << page.error().ToString();
    ++pages;
    for (const CommandInvocation& i : page->invocations) {
      EXPECT_EQ(i.document_name, "AWS-RunPatchBaseline");
      found[i.command_id] = i.instance_id;
    }
    look.next_token = page->next_token;
  } while (!look.next_token.empty() && pages < 100);
  EXPECT_EQ(found.at(patch_a), a);
  EXPECT_EQ(found.at(patch_b), b);
  EXPECT_FALSE(found.count(shell)) << "another document's invocation";
  EXPECT_GE(pages, 2) << "one invocation a page";

  look = {};
  look.filters = {{"InvokedAfter", CommandFilterTime(sent_ms + 3'600'000)}};
  Result<ListCommandInvocationsResponse> later = clients_->ssm->ListCommandInvocations(look);
  ASSERT_TRUE(later.ok()) << later.error().ToString();
  EXPECT_TRUE(later->invocations.empty()) << "nothing invoked an hour from now";
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{a, b}}).ok());
}

// The search for a command after a crash: the commands of a document since a time, with their
// comments (ListCommands, CommandFilter DocumentName and InvokedAfter), in pages.
TEST_F(SsmMoto, ListCommandsOfADocumentSinceATimeWithTheirComments) {
  auto [vpc_id, subnet_id] = MakeSubnet(64);
  auto [ami, other_ami] = TwoAmis();
  const std::string a = LaunchInstance(ami, subnet_id);
  const std::string b = LaunchInstance(ami, subnet_id);
  const int64_t before_ms = SystemClock::Instance().NowMs();
  auto send = [&](const std::string& document, const std::string& id, const std::string& comment) {
    SendCommandRequest r;
    r.document_name = document;
    r.instance_ids = {id};
    r.parameters = document == "AWS-RunShellScript"
                       ? std::map<std::string, std::vector<std::string>>{{"commands", {"true"}}}
                       : std::map<std::string, std::vector<std::string>>{{"Operation", {"Scan"}}};
    r.comment = comment;
    Result<Command> c = clients_->ssm->SendCommand(r);
    EXPECT_TRUE(c.ok()) << c.error().ToString();
    return c.ok() ? c->command_id : std::string();
  };
  const std::string shell = send("AWS-RunShellScript", a, "shell token-s");
  const std::string patch_a = send("AWS-RunPatchBaseline", a, "fleetkeeper chg-1 token-a");
  const std::string patch_b = send("AWS-RunPatchBaseline", b, "fleetkeeper chg-1 token-b");

  ListCommandsRequest search;
  search.filters = {{"DocumentName", "AWS-RunPatchBaseline"},
                    {"InvokedAfter", CommandFilterTime(before_ms - 60'000)}};
  search.max_results = 1;
  std::map<std::string, Command> found;  // by command id
  int pages = 0;
  Status listed = ForEachPage(
      search, [&](const auto& r) { return clients_->ssm->ListCommands(r); },
      [&](const ListCommandsResponse& page) -> Status {
        ++pages;
        for (const Command& c : page.commands) found[c.command_id] = c;
        return Ok{};
      });
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  ASSERT_TRUE(found.count(patch_a) && found.count(patch_b));
  EXPECT_EQ(found.at(patch_a).comment, "fleetkeeper chg-1 token-a");
  EXPECT_EQ(found.at(patch_b).instance_ids, std::vector<std::string>{b});
  EXPECT_EQ(found.at(patch_b).document_name, "AWS-RunPatchBaseline");
  EXPECT_FALSE(found.count(shell)) << "another document's command";
  EXPECT_GE(pages, 2) << "one command a page";

  search = {};
  search.filters = {{"InvokedAfter", CommandFilterTime(before_ms + 3'600'000)}};
  Result<ListCommandsResponse> later = clients_->ssm->ListCommands(search);
  ASSERT_TRUE(later.ok()) << later.error().ToString();
  EXPECT_TRUE(later->commands.empty()) << "nothing sent an hour from now";
  ASSERT_TRUE(clients_->ec2->TerminateInstances({{a, b}}).ok());
}

}  // namespace
}  // namespace fleetkeeper::aws::moto_test
