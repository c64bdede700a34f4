// libFuzzer harness: the AWS XML readers (query and EC2 protocols) and the XML error reader. One
// input is read as the answer to every operation the worker calls over the query protocols, and as
// an error body of each protocol. Seeds: ../shared/testdata/aws-responses.

#include <cstddef>
#include <cstdint>
#include <string>

#include "awsclient/autoscaling.h"
#include "awsclient/aws_error.h"
#include "awsclient/cloudwatch.h"
#include "awsclient/ec2.h"
#include "awsclient/elbv2.h"
#include "awsclient/iam.h"
#include "awsclient/query_protocol.h"
#include "awsclient/sns.h"
#include "awsclient/sts.h"
#include "tests/fuzz/fuzz_support.h"

namespace aws = fleetkeeper::aws;

namespace {

template <typename R>
void Expect(const R& result) {
  // A refused answer names what was wrong (the contract of every reader).
  if (!result.ok()) FK_FUZZ_CHECK(!result.error().message.empty(), "an error without a message");
}

}  // namespace

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string xml(reinterpret_cast<const char*>(data), size);

  Expect(aws::ParseQueryResponse(aws::QueryFlavor::kQuery, "DescribeAlarms", xml));
  Expect(aws::ParseQueryResponse(aws::QueryFlavor::kEc2, "DescribeInstances", xml));

  Expect(aws::ParseDescribeInstances(xml));
  Expect(aws::ParseDescribeImages(xml));
  Expect(aws::ParseDescribeVolumes(xml));
  Expect(aws::ParseDescribeAddresses(xml));
  Expect(aws::ParseDescribeInstanceStatus(xml));
  Expect(aws::ParseRunInstances(xml));
  Expect(aws::ParseInstanceStateChanges("StopInstances", xml));
  Expect(aws::ParseVolumeAttachment("AttachVolume", xml));
  Expect(aws::ParseAssociateAddress(xml));
  Expect(aws::ParseDescribeInstanceAttribute(xml));
  Expect(aws::ParseDescribeNetworkInterfaces(xml));
  Expect(aws::ParseDescribeInstanceCreditSpecifications(xml));
  Expect(aws::ParseModifyInstanceCreditSpecification(xml));
  Expect(aws::ParseAttachNetworkInterface(xml));
  Expect(aws::ParseAssignPrivateIpAddresses(xml));
  Expect(aws::ParseReceipt("ModifyInstanceAttribute", xml));

  Expect(aws::ParseDescribeAutoScalingGroups(xml));
  Expect(aws::ParseDescribeInstanceRefreshes(xml));
  Expect(aws::ParseDescribeAlarms(xml));
  Expect(aws::ParseDescribeTargetHealth(xml));
  Expect(aws::ParseDescribeTargetGroups(xml));
  Expect(aws::ParseSimulatePrincipalPolicy(xml));
  Expect(aws::ParsePublish(xml));
  Expect(aws::ParseGetCallerIdentity(xml));
  Expect(aws::ParseAssumeRole("AssumeRole", xml));

  const aws::Headers headers = {{"x-amzn-RequestId", "fuzz"}};
  for (aws::Protocol protocol : {aws::Protocol::kQuery, aws::Protocol::kEc2Query}) {
    for (int status : {400, 403, 503}) {
      const fleetkeeper::Error error = aws::ParseAwsError(protocol, status, headers, xml, "Fuzz");
      FK_FUZZ_CHECK(!error.message.empty(), "an AWS error without a message");
      (void)aws::ClassifyFailure(error);
    }
  }
  (void)aws::ExtractRequestId({}, xml);
  return 0;
}
