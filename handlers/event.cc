#include "handlers/event.h"

#include "common/clock.h"
#include "common/digest.h"

namespace fleetkeeper::handlers {
namespace {

// Deterministic, so a batch re-processed after an abort produces the same result id.
std::string ResultId(const v1::Result& result) {
  const std::string& status = v1::Result::Status_Name(result.status());
  std::string basis;
  basis.reserve(result.correlation_id().size() + result.workflow_id().size() + status.size() +
                result.reason().size() + 3);
  basis.append(result.correlation_id()).append("|").append(result.workflow_id()).append("|");
  basis.append(status);
  if (result.status() == v1::Result::IN_PROGRESS) basis.append("|").append(result.reason());
  std::string id = "r-";
  id += Sha256Hex(basis, 16);
  return id;
}

}  // namespace

std::string_view EventKindName(EventKind kind) {
  // A oneof case is its field's number.
  const google::protobuf::FieldDescriptor* field =
      v1::Event::descriptor()->FindFieldByNumber(static_cast<int>(kind));
  return field == nullptr ? std::string_view("unknown") : std::string_view(field->name());
}

std::string CellOf(const v1::Event& event) { return event.account() + "/" + event.region(); }

void FillResult(v1::Result* r, const v1::Event& event, v1::Result::Status status,
                std::string reason, std::string handler, int64_t now_ms, std::string workflow_id) {
  r->Clear();
  r->set_workflow_id(std::move(workflow_id));
  r->set_correlation_id(event.id());
  r->set_dedup_key(event.dedup_key());
  r->set_handler(std::move(handler));
  r->set_status(status);
  r->set_reason(std::move(reason));
  r->set_started_at(FormatRfc3339(now_ms));
  r->set_finished_at(r->started_at());
  *r->mutable_source() = event.source();
  r->set_id(ResultId(*r));
}

v1::Result MakeResult(const v1::Event& event, v1::Result::Status status, std::string reason,
                      std::string handler, int64_t now_ms, std::string workflow_id) {
  v1::Result r;
  FillResult(&r, event, status, std::move(reason), std::move(handler), now_ms,
             std::move(workflow_id));
  return r;
}

}  // namespace fleetkeeper::handlers
