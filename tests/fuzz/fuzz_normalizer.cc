// libFuzzer harness: the ingest normalizer over every input form. One input is tried as each form
// the worker accepts: a JSON record with no headers (EventBridge, SNS over HTTP or Lambda, a
// wrapped native request), a bare JSON native request named by its fk-type header, and a protobuf
// native request (content-type application/x-protobuf) of each of the four native kinds.
// Seeds: the event fixtures and ../shared/testdata/events; fk_fuzz_seeds writes protobuf seeds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "consumers/normalizer.h"
#include "handlers/event.h"
#include "tests/fuzz/fuzz_support.h"

namespace fk = fleetkeeper::consumers;

namespace {

constexpr const char* kNativeTypes[] = {"fleetkeeper.v1.PatchRequest", "fleetkeeper.v1.EcsCommand",
                                        "fleetkeeper.v1.Approval", "fleetkeeper.v1.Cancel"};

void Check(const fk::InputRecord& record, const fk::NormalizeOptions& options) {
  fk::Normalized out = fk::Normalize(record, options);
  switch (out.disposition) {
    case fk::Disposition::kEvent:
      // The contract of kEvent (normalizer.h): fully filled, and no reason.
      FK_FUZZ_CHECK(!out.event.id().empty(), "kEvent without an id");
      FK_FUZZ_CHECK(out.reason.empty(), "kEvent with a reason");
      (void)fk::CellOf(out.event);
      (void)fleetkeeper::handlers::EventKindName(out.event.body_case());
      break;
    case fk::Disposition::kSkipped:
    case fk::Disposition::kUnreadable:
      FK_FUZZ_CHECK(!out.reason.empty(), "a skipped or unreadable record without a reason");
      break;
  }
}

}  // namespace

FK_FUZZ_QUIET_INIT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  fk::NormalizeOptions options;
  options.default_account = "123456789012";
  options.default_region = "eu-west-1";

  fk::InputRecord record;
  record.payload = payload;
  record.key = "fuzz";
  record.topic = "fleet.in";
  Check(record, options);

  for (const char* type : kNativeTypes) {
    record.headers = {{"fk-type", type}};
    Check(record, options);
    record.headers = {{"Content-Type", "application/x-protobuf"}, {"fk-type", type}};
    Check(record, options);
  }
  return 0;
}
