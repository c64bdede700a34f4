#include "handlers/root_volume.h"

namespace fleetkeeper::handlers {

Result<RootVolumeTaskStart> EnsureRootVolumeTask(aws::Ec2& ec2, const std::string& instance,
                                                 const std::string& image,
                                                 const std::string& token) {
  aws::DescribeReplaceRootVolumeTasksRequest find;
  find.filters = {{"instance-id", {instance}}};
  auto tasks = ec2.DescribeReplaceRootVolumeTasks(find);
  if (!tasks.ok()) return tasks.error();
  for (const auto& task : tasks->tasks) {
    auto tag = task.tags.find(kTokenTag);
    if (tag != task.tags.end() && tag->second == token) return RootVolumeTaskStart{task.id, ""};
  }
  aws::CreateReplaceRootVolumeTaskRequest req;
  req.instance_id = instance;
  req.image_id = image;
  req.delete_replaced_root_volume = false;
  req.client_token = token;
  req.tag_specifications.push_back({"replace-root-volume-task", {{kTokenTag, token}}});
  auto task = ec2.CreateReplaceRootVolumeTask(req);
  if (!task.ok()) return task.error();
  return RootVolumeTaskStart{task->id, task->request_id};
}

Result<aws::ReplaceRootVolumeTask> DescribeRootVolumeTask(aws::Ec2& ec2, const std::string& id) {
  aws::DescribeReplaceRootVolumeTasksRequest req;
  req.task_ids = {id};
  auto tasks = ec2.DescribeReplaceRootVolumeTasks(req);
  if (!tasks.ok()) return tasks.error();
  if (tasks->tasks.empty()) return Error(ErrorCode::kNotFound, "replace task " + id + " is gone");
  return tasks->tasks.front();
}

}  // namespace fleetkeeper::handlers
