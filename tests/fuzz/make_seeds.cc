// fk_fuzz_seeds OUT_DIR FILE...: the binary seeds the JSON fixtures cannot be, written from them.
// Each FILE is normalized as a Kafka record; for every one that becomes an event it writes <n>.pb
// into three folders of OUT_DIR:
//   work     the work item (fleetkeeper.v1.Event) the ingest stage would produce
//   state    a fleet.state record: a workflow checkpoint with that trigger
//   native   for a native request, its protobuf body (fuzz_normalizer's binary form)
// scripts/fuzz.sh runs it before the harnesses. Exits non-zero if nothing became an event.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "consumers/normalizer.h"
#include "handlers/event.h"
#include "fleetkeeper/v1/workflow.pb.h"

namespace fk = fleetkeeper::consumers;
namespace v1 = fleetkeeper::v1;

namespace {

void Write(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

const google::protobuf::Message* NativeBody(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kPatchRequest:
      return &event.patch_request();
    case v1::Event::kEcsCommand:
      return &event.ecs_command();
    case v1::Event::kApproval:
      return &event.approval();
    case v1::Event::kCancel:
      return &event.cancel();
    default:
      return nullptr;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fk_fuzz_seeds OUT_DIR FILE...\n");
    return 2;
  }
  const std::filesystem::path out(argv[1]);
  fk::NormalizeOptions options;
  options.default_account = "123456789012";
  options.default_region = "eu-west-1";
  int events = 0;
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const std::string payload = text.str();
    fk::InputRecord record;
    record.payload = payload;
    record.topic = "fleet.in";
    const fk::Normalized normalized = fk::Normalize(record, options);
    if (normalized.disposition != fk::Disposition::kEvent) continue;
    const std::string name = std::to_string(events++) + ".pb";
    Write(out / "work" / name, normalized.event.SerializeAsString());
    v1::StateRecord state;
    v1::WorkflowCheckpoint* wf = state.mutable_workflow();
    wf->set_schema_version(1);
    wf->set_workflow_id(normalized.event.account() + "/" + normalized.event.region() + "/fuzz-" +
                        std::to_string(i));
    wf->set_kind(std::string(fleetkeeper::handlers::EventKindName(normalized.event.body_case())));
    wf->set_cell(fk::CellOf(normalized.event));
    wf->set_step("start");
    *wf->mutable_trigger() = normalized.event;
    Write(out / "state" / name, state.SerializeAsString());
    if (const google::protobuf::Message* body = NativeBody(normalized.event)) {
      Write(out / "native" / name, body->SerializeAsString());
    }
  }
  std::fprintf(stderr, "fk_fuzz_seeds: %d events from %d files\n", events, argc - 2);
  return events > 0 ? 0 : 1;
}
