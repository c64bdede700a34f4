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

using fleetkeeper::fuzz::ExpectNamedError;

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string xml(reinterpret_cast<const char*>(data), size);

  ExpectNamedError(aws::ParseQueryResponse(aws::QueryFlavor::kQuery, "DescribeAlarms", xml));
  ExpectNamedError(aws::ParseQueryResponse(aws::QueryFlavor::kEc2, "DescribeInstances", xml));

  ExpectNamedError(aws::ParseDescribeInstances(xml));
  ExpectNamedError(aws::ParseDescribeImages(xml));
  ExpectNamedError(aws::ParseDescribeVolumes(xml));
  ExpectNamedError(aws::ParseDescribeAddresses(xml));
  ExpectNamedError(aws::ParseDescribeInstanceStatus(xml));
  ExpectNamedError(aws::ParseRunInstances(xml));
  ExpectNamedError(aws::ParseInstanceStateChanges("StopInstances", xml));
  ExpectNamedError(aws::ParseVolumeAttachment("AttachVolume", xml));
  ExpectNamedError(aws::ParseAssociateAddress(xml));
  ExpectNamedError(aws::ParseDescribeInstanceAttribute(xml));
  ExpectNamedError(aws::ParseGetLaunchTemplateData(xml));
  ExpectNamedError(aws::ParseDescribeNetworkInterfaces(xml));
  ExpectNamedError(aws::ParseDescribeInstanceCreditSpecifications(xml));
  ExpectNamedError(aws::ParseModifyInstanceCreditSpecification(xml));
  ExpectNamedError(aws::ParseAttachNetworkInterface(xml));
  ExpectNamedError(aws::ParseAssignPrivateIpAddresses(xml));
  ExpectNamedError(aws::ParseReceipt("ModifyInstanceAttribute", xml));

  ExpectNamedError(aws::ParseDescribeAutoScalingGroups(xml));
  ExpectNamedError(aws::ParseDescribeInstanceRefreshes(xml));
  ExpectNamedError(aws::ParseDescribeAlarms(xml));
  ExpectNamedError(aws::ParseDescribeTargetHealth(xml));
  ExpectNamedError(aws::ParseDescribeTargetGroups(xml));
  ExpectNamedError(aws::ParseSimulatePrincipalPolicy(xml));
  ExpectNamedError(aws::ParsePublish(xml));
  ExpectNamedError(aws::ParseGetCallerIdentity(xml));
  ExpectNamedError(aws::ParseAssumeRole("AssumeRole", xml));

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
