#include "handlers/ecs/permissions.h"

namespace fleetkeeper::handlers::ecs {

std::vector<std::string> Permissions(const v1::WorkerConfig&) {
  return {
      // scale, restore: a service's scalable target; suspended at zero, resumed by restore
      "application-autoscaling:DescribeScalableTargets",
      "application-autoscaling:RegisterScalableTarget",
      "cloudwatch:PutMetricData",           // the metrics of each mutating command (report.h)
      "ecs:DescribeClusters",               // every action but list_clusters: the cluster exists
      "ecs:DescribeContainerInstances",     // drain
      "ecs:DescribeServices",               // list_services, every command on services, drain
      "ecs:DescribeTasks",                  // list_tasks, stop_tasks, drain (the instance's tasks)
      "ecs:ListClusters",                   // list_clusters
      "ecs:ListServices",                   // list_services, services: ["*"]
      "ecs:ListTasks",                      // list_tasks, stop_tasks of whole services, drain
      "ecs:StopTask",                       // stop_tasks
      "ecs:TagResource",                    // scale to zero: the previous desired count
      "ecs:UntagResource",                  // restore
      "ecs:UpdateContainerInstancesState",  // drain
      "ecs:UpdateService",                  // scale, restore, restart
      "sns:Publish",                        // notify_topic_arn: the summary of a command
  };
}

}  // namespace fleetkeeper::handlers::ecs
