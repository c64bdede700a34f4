// libFuzzer harness: the AWS JSON 1.1 readers (SSM, ECS, CodeDeploy) and the JSON error reader.
// One input is read as the answer to every JSON operation the worker calls, and as an error body.
// Seeds: ../shared/testdata/aws-responses.

#include <cstddef>
#include <cstdint>
#include <string>

#include "awsclient/aws_error.h"
#include "awsclient/codedeploy.h"
#include "awsclient/ecs.h"
#include "awsclient/json_protocol.h"
#include "awsclient/ssm.h"
#include "tests/fuzz/fuzz_support.h"

namespace aws = fleetkeeper::aws;

namespace {

template <typename R>
void Expect(const R& result) {
  if (!result.ok()) FK_FUZZ_CHECK(!result.error().message.empty(), "an error without a message");
}

}  // namespace

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);

  Expect(aws::ParseJsonResponse("GetParameter", body));
  Expect(aws::ParseGetParameter(body));
  Expect(aws::ParseSendCommand(body));
  Expect(aws::ParseDescribeInstanceInformation(body));
  Expect(aws::ParseDescribeServices(body));
  Expect(aws::ParseUpdateService(body));
  Expect(aws::ParseArnPage("ListTasks", body));
  Expect(aws::ParseUpdateContainerInstancesState(body));
  Expect(aws::ParseDescribeClusters(body));
  Expect(aws::ParseDescribeTasks(body));
  Expect(aws::ParseGetDeployment(body));

  const aws::Headers headers = {{"x-amzn-RequestId", "fuzz"},
                                {"x-amzn-ErrorType", "ThrottlingException:http://internal"}};
  for (int status : {400, 500}) {
    const fleetkeeper::Error error =
        aws::ParseAwsError(aws::Protocol::kJson11, status, headers, body, "Fuzz");
    FK_FUZZ_CHECK(!error.message.empty(), "an AWS error without a message");
    (void)aws::ClassifyFailure(error);
    (void)aws::ParseAwsError(aws::Protocol::kJson11, status, {}, body, "Fuzz");
  }
  return 0;
}
