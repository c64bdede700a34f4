#include "tests/testing/aws_mocks.h"

namespace fleetkeeper::aws::testing {
namespace {

template <typename Mock, typename Interface>
Mock* InstallNiceMock(std::unique_ptr<Interface>& slot) {
  auto mock = std::make_unique<::testing::NiceMock<Mock>>();
  Mock* raw = mock.get();
  slot = std::move(mock);
  return raw;
}

}  // namespace

MockEc2::MockEc2() = default;
MockEc2::~MockEc2() = default;

MockAutoScaling::MockAutoScaling() = default;
MockAutoScaling::~MockAutoScaling() = default;

MockSsm::MockSsm() = default;
MockSsm::~MockSsm() = default;

MockElbv2::MockElbv2() = default;
MockElbv2::~MockElbv2() = default;

MockCloudWatch::MockCloudWatch() = default;
MockCloudWatch::~MockCloudWatch() = default;

MockSns::MockSns() = default;
MockSns::~MockSns() = default;

MockEcs::MockEcs() = default;
MockEcs::~MockEcs() = default;

MockSts::MockSts() = default;
MockSts::~MockSts() = default;

MockIam::MockIam() = default;
MockIam::~MockIam() = default;

MockCodeDeploy::MockCodeDeploy() = default;
MockCodeDeploy::~MockCodeDeploy() = default;

MockApplicationAutoScaling::MockApplicationAutoScaling() = default;
MockApplicationAutoScaling::~MockApplicationAutoScaling() = default;

MockClientProvider::MockClientProvider() = default;
MockClientProvider::~MockClientProvider() = default;

MockCellClients::MockCellClients() {
  ec2 = InstallNiceMock<MockEc2>(clients.ec2);
  autoscaling = InstallNiceMock<MockAutoScaling>(clients.autoscaling);
  ssm = InstallNiceMock<MockSsm>(clients.ssm);
  elbv2 = InstallNiceMock<MockElbv2>(clients.elbv2);
  cloudwatch = InstallNiceMock<MockCloudWatch>(clients.cloudwatch);
  sns = InstallNiceMock<MockSns>(clients.sns);
  ecs = InstallNiceMock<MockEcs>(clients.ecs);
  sts = InstallNiceMock<MockSts>(clients.sts);
  iam = InstallNiceMock<MockIam>(clients.iam);
  codedeploy = InstallNiceMock<MockCodeDeploy>(clients.codedeploy);
  application_autoscaling =
      InstallNiceMock<MockApplicationAutoScaling>(clients.application_autoscaling);
  // By default the provider hands out this bundle for any cell.
  ON_CALL(provider, For(::testing::_, ::testing::_, ::testing::_))
      .WillByDefault(::testing::Return(Result<CellClients*>(&clients)));
}

MockCellClients::~MockCellClients() = default;

}  // namespace fleetkeeper::aws::testing
