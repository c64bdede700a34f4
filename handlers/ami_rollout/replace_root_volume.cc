#include "handlers/ami_rollout/replacement_phases.h"
#include "handlers/root_volume.h"

namespace fleetkeeper::handlers::ami_rollout::replacement {

// ---- replace-root-volume ---------------------------------------------------------------------

Progress PrepareTask(RolloutTick& t, v1::InstanceRollout& r, const char* purpose,
                     const char* next) {
  r.set_task_token(t.ctx.IdempotencyToken(fmt::format("{}:{}", purpose, Old(r))));
  return Enter(t, r, next, Progress::kCheckpoint);
}

// Starts a root volume replacement with `image`, or finds the one an earlier run started.
Result<std::string> EnsureTask(RolloutTick& t, v1::InstanceRollout& r, const std::string& image) {
  auto task = EnsureRootVolumeTask(*t.ctx.aws().ec2, Old(r), image, r.task_token());
  if (!task.ok()) return task.error();
  if (!task->request_id.empty()) {
    t.RecordCall(Resource(Old(r)), "create-replace-root-volume-task",
                 fmt::format("task {} with {}", task->task_id, image), task->request_id);
  }
  return task->task_id;
}

Result<aws::ReplaceRootVolumeTask> DescribeTask(RolloutTick& t, const std::string& id) {
  return DescribeRootVolumeTask(*t.ctx.aws().ec2, id);
}

Progress CreateTask(RolloutTick& t, v1::InstanceRollout& r, bool rollback) {
  auto id = EnsureTask(t, r, rollback ? r.capture().image_id() : TargetImage(t, r));
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
  if (RootVolumeTaskFailed(task->state)) {
    return Fail(t, r, fmt::format("replace root volume task {} {}", id, task->state));
  }
  return WaitFor(t, r, fmt::format("replace root volume task {} ({})", id, task->state));
}

}  // namespace fleetkeeper::handlers::ami_rollout::replacement
