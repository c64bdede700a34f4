#include "handlers/ami_rollout/replacement_phases.h"

namespace fleetkeeper::handlers::ami_rollout::replacement {

// ---- replace-root-volume ---------------------------------------------------------------------

Progress PrepareTask(RolloutTick& t, v1::InstanceRollout& r, const char* purpose,
                     const char* next) {
  r.set_task_token(t.ctx.IdempotencyToken(fmt::format("{}:{}", purpose, Old(r))));
  return Enter(t, r, next, Progress::kCheckpoint);
}

// Starts a root volume replacement with `image`, or finds the one an earlier run started.
Result<std::string> EnsureTask(RolloutTick& t, v1::InstanceRollout& r, const std::string& image) {
  aws::DescribeReplaceRootVolumeTasksRequest find;
  find.filters = {{"instance-id", {Old(r)}}};
  auto tasks = t.ctx.aws().ec2->DescribeReplaceRootVolumeTasks(find);
  if (!tasks.ok()) return tasks.error();
  for (const auto& task : tasks->tasks) {
    auto tag = task.tags.find(kTokenTag);
    if (tag != task.tags.end() && tag->second == r.task_token()) return task.id;
  }
  aws::CreateReplaceRootVolumeTaskRequest req;
  req.instance_id = Old(r);
  req.image_id = image;
  req.delete_replaced_root_volume = false;  // the old root stays as a way back
  req.client_token = r.task_token();
  req.tag_specifications.push_back({"replace-root-volume-task", {{kTokenTag, r.task_token()}}});
  auto task = t.ctx.aws().ec2->CreateReplaceRootVolumeTask(req);
  if (!task.ok()) return task.error();
  t.RecordCall(Resource(Old(r)), "create-replace-root-volume-task",
               fmt::format("task {} with {}", task->id, image), task->request_id);
  return task->id;
}

Result<aws::ReplaceRootVolumeTask> DescribeTask(RolloutTick& t, const std::string& id) {
  aws::DescribeReplaceRootVolumeTasksRequest req;
  req.task_ids = {id};
  auto tasks = t.ctx.aws().ec2->DescribeReplaceRootVolumeTasks(req);
  if (!tasks.ok()) return tasks.error();
  if (tasks->tasks.empty()) return Error(ErrorCode::kNotFound, "replace task " + id + " is gone");
  return tasks->tasks.front();
}

Progress CreateTask(RolloutTick& t, v1::InstanceRollout& r, bool rollback) {
  auto id = EnsureTask(t, r, rollback ? r.capture().image_id() : t.state.image_id());
  if (!id.ok()) return OnError(t, r, "create-replace-root-volume-task", id.error());
  (rollback ? r.mutable_rollback_task_id() : r.mutable_replace_task_id())->assign(*id);
  return Enter(t, r, rollback ? kRbWaitTask : kWaitTask, Progress::kCheckpoint);
}

Progress WaitTask(RolloutTick& t, v1::InstanceRollout& r, bool rollback) {
  const std::string& id = rollback ? r.rollback_task_id() : r.replace_task_id();
  auto task = DescribeTask(t, id);
  if (!task.ok()) return OnError(t, r, "describe-replace-root-volume-tasks", task.error());
  if (task->state == "succeeded") {
    return Enter(t, r, rollback ? kRbStartOld : kWaitNewRunning, Progress::kCheckpoint);
  }
  if (task->state == "failed" || task->state == "failed-detached") {
    // "failed": EC2 put the original root volume back; "failed-detached": it could not.
    return Fail(t, r, fmt::format("replace root volume task {} {}", id, task->state));
  }
  return WaitFor(t, r, fmt::format("replace root volume task {} ({})", id, task->state));
}

}  // namespace fleetkeeper::handlers::ami_rollout::replacement
