// SNS over the query protocol (API version 2010-03-31).
#include <utility>

#include "awsclient/query_protocol.h"
#include "awsclient/sns.h"

namespace fleetkeeper::aws {
namespace {

constexpr const char* kVersion = "2010-03-31";
constexpr const char* kService = "sns";

auto ReadPublish = [](XmlReader& r, pugi::xml_node result) {
  r.Require(result, "MessageId");
  return PublishResponse{r.Text(result, "MessageId")};
};

class SnsQueryClient final : public Sns {
 public:
  explicit SnsQueryClient(std::shared_ptr<Transport> t) : t_(std::move(t)) {}

  Result<PublishResponse> Publish(const PublishRequest& r) override {
    QueryParams p(QueryFlavor::kQuery, "Publish", kVersion);
    p.Set("TopicArn", r.topic_arn);
    p.SetIfNotEmpty("Subject", r.subject);
    p.Set("Message", r.message);
    // A query map: MessageAttributes.entry.N.Name / .Value.<field>.
    size_t i = 0;
    for (const auto& [name, attribute] : r.message_attributes) {
      std::string base = "MessageAttributes.entry." + std::to_string(++i);
      p.Set(base + ".Name", name);
      p.Set(base + ".Value.DataType", attribute.data_type);
      p.Set(base + ".Value.StringValue", attribute.string_value);
    }
    return CallAndRead<PublishResponse>(*t_, kService, p, ReadPublish);
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::unique_ptr<Sns> MakeSnsClient(std::shared_ptr<Transport> transport) {
  return std::make_unique<SnsQueryClient>(std::move(transport));
}

Result<PublishResponse> ParsePublish(const std::string& xml) {
  return ParseAndRead<PublishResponse>(QueryFlavor::kQuery, "Publish", xml, ReadPublish);
}

}  // namespace fleetkeeper::aws
