#include "handlers/fanout.h"

namespace fleetkeeper::handlers {

std::string FanOutAddressee(const v1::FanOut& fan_out) {
  const bool to_parent = fan_out.kind() == kFanOutDiscovered || fan_out.kind() == kFanOutResult;
  return to_parent ? fan_out.parent_workflow_id() : fan_out.child_workflow_id();
}

v1::Event WorkItemFrom(const v1::WorkflowCheckpoint& from, const std::string& id,
                       const std::string& account, const std::string& region) {
  v1::Event e;
  e.set_id(id);
  e.set_account(account);
  e.set_region(region);
  e.set_source_format("native");
  e.set_time(from.trigger().time());
  *e.mutable_source() = from.trigger().source();
  e.set_origin("fleetkeeper / fan-out");
  return e;
}

v1::Event ReportToParent(const v1::WorkflowCheckpoint& child, const std::string& kind) {
  const v1::ParentLink& parent = child.trigger().parent();
  v1::Event e = WorkItemFrom(child, "fan-out:" + kind + ":" + child.workflow_id(), parent.account(),
                             parent.region());
  v1::FanOut* f = e.mutable_fan_out();
  f->set_parent_workflow_id(parent.workflow_id());
  f->set_child_workflow_id(child.workflow_id());
  f->set_cell(child.cell());
  f->set_kind(kind);
  return e;
}

v1::Event ResultToParent(const v1::WorkflowCheckpoint& child, const v1::Result& result) {
  v1::Event e = ReportToParent(child, kFanOutResult);
  e.mutable_fan_out()->mutable_result()->PackFrom(result);
  return e;
}

v1::Event WordToChild(const v1::WorkflowCheckpoint& parent, const std::string& child_workflow_id,
                      const std::string& cell, const std::string& kind, const std::string& reason) {
  const size_t slash = cell.find('/');
  v1::Event e = WorkItemFrom(parent, "fan-out:" + kind + ":" + child_workflow_id,
                             cell.substr(0, slash), cell.substr(slash + 1));
  v1::FanOut* f = e.mutable_fan_out();
  f->set_parent_workflow_id(parent.workflow_id());
  f->set_child_workflow_id(child_workflow_id);
  f->set_cell(cell);
  f->set_kind(kind);
  f->set_reason(reason);
  return e;
}

}  // namespace fleetkeeper::handlers
