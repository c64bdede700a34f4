// libFuzzer harness: the protobuf decoders of what the worker reads back from Kafka. One input is
// decoded as a work item (fleetkeeper.v1.Event from fleet.work, with the worker's own check that it
// has an id, then routed by cell and kind), as a fleet.state record (StateRecord, its workflow
// checkpoint's typed state unpacked as each handler's state) and as a control record. Whatever
// decodes must survive a round trip unchanged. Seeds: fk_fuzz_seeds writes work items and
// checkpoints made from the event fixtures.

#include <cstddef>
#include <cstdint>

#include <google/protobuf/message.h>
#include <google/protobuf/util/message_differencer.h>

#include "consumers/normalizer.h"
#include "handlers/event.h"
#include "fleetkeeper/v1/ami_rollout_state.pb.h"
#include "fleetkeeper/v1/ecs_state.pb.h"
#include "fleetkeeper/v1/event.pb.h"
#include "fleetkeeper/v1/patch_state.pb.h"
#include "fleetkeeper/v1/self_healing_state.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"
#include "tests/fuzz/fuzz_support.h"

namespace v1 = fleetkeeper::v1;

namespace {

bool Decode(google::protobuf::Message& message, const uint8_t* data, size_t size) {
  if (!message.ParseFromArray(data, static_cast<int>(size))) return false;
  std::unique_ptr<google::protobuf::Message> again(message.New());
  FK_FUZZ_CHECK(again->ParseFromString(message.SerializeAsString()),
                "a decoded message does not decode after encoding");
  FK_FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(message, *again),
                "a decoded message changed in a round trip");
  return true;
}

template <typename State>
void UnpackState(const google::protobuf::Any& any) {
  State state;
  if (any.Is<State>()) (void)any.UnpackTo(&state);
}

}  // namespace

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  v1::Event event;
  if (Decode(event, data, size) && !event.id().empty()) {
    (void)fleetkeeper::consumers::CellOf(event);
    (void)fleetkeeper::handlers::EventKindName(event.body_case());
  }

  v1::StateRecord record;
  if (Decode(record, data, size) && record.has_workflow()) {
    const v1::WorkflowCheckpoint& wf = record.workflow();
    UnpackState<v1::AmiRolloutState>(wf.state());
    UnpackState<v1::HealingWorkflowState>(wf.state());
    UnpackState<v1::PatchWorkflowState>(wf.state());
    UnpackState<v1::EcsWorkflowState>(wf.state());
    if (!wf.trigger().id().empty()) (void)fleetkeeper::consumers::CellOf(wf.trigger());
  }

  v1::ControlRecord control;
  (void)Decode(control, data, size);
  return 0;
}
