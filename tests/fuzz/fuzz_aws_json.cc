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

using fleetkeeper::fuzz::ExpectNamedError;

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);

  ExpectNamedError(aws::ParseJsonResponse("GetParameter", body));
  ExpectNamedError(aws::ParseGetParameter(body));
  ExpectNamedError(aws::ParseSendCommand(body));
  ExpectNamedError(aws::ParseDescribeInstanceInformation(body));
  ExpectNamedError(aws::ParseDescribeServices(body));
  ExpectNamedError(aws::ParseUpdateService(body));
  ExpectNamedError(aws::ParseArnPage("ListTasks", body));
  ExpectNamedError(aws::ParseUpdateContainerInstancesState(body));
  ExpectNamedError(aws::ParseDescribeClusters(body));
  ExpectNamedError(aws::ParseDescribeTasks(body));
  ExpectNamedError(aws::ParseGetDeployment(body));

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
