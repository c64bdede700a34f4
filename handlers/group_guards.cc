#include "handlers/group_guards.h"

#include <algorithm>

#include "awsclient/clients.h"

namespace fleetkeeper::handlers {
namespace {
constexpr size_t kTagsPerCall = 20;  // DescribeTags takes at most 20 ARNs

std::string Trim(const std::string& s) {
  const size_t from = s.find_first_not_of(" \t");
  if (from == std::string::npos) return "";
  return s.substr(from, s.find_last_not_of(" \t") - from + 1);
}
}  // namespace

std::vector<std::string> GuardAlarmsOfTag(const std::string& value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    const size_t comma = std::min(value.find(',', start), value.size());
    if (std::string name = Trim(value.substr(start, comma - start)); !name.empty()) {
      out.push_back(std::move(name));
    }
    start = comma + 1;
  }
  return out;
}

bool TaggedGuardsKnown(StepContext& ctx, const std::string& lock) {
  auto* guards = ctx.mutable_tagged_guards();
  if (guards == nullptr) return true;  // nowhere to keep them
  return std::any_of(guards->begin(), guards->end(),
                     [&](const v1::TaggedGuard& g) { return g.lock() == lock; });
}

void RecordTaggedGuards(StepContext& ctx, const std::vector<std::string>& tag_keys,
                        const std::string& lock, const std::map<std::string, std::string>& tags) {
  auto* guards = ctx.mutable_tagged_guards();
  if (guards == nullptr || tag_keys.empty() || TaggedGuardsKnown(ctx, lock)) return;
  for (const auto& key : tag_keys) {
    v1::TaggedGuard* g = guards->Add();
    g->set_lock(lock);
    g->set_tag(key);
    auto it = tags.find(key);
    if (it == tags.end()) continue;
    g->set_value(it->second);
    // Parsed for every key; only a guard's key is read as alarms (TaggedGuardOf).
    for (auto& alarm : GuardAlarmsOfTag(it->second)) g->add_alarms(std::move(alarm));
  }
}

Status RecordTargetGroupGuards(StepContext& ctx, const std::vector<std::string>& tag_keys,
                               const std::vector<std::string>& arns) {
  if (tag_keys.empty() || ctx.mutable_tagged_guards() == nullptr) return Ok{};
  std::vector<std::string> unknown;
  for (const auto& arn : arns) {
    if (!TaggedGuardsKnown(ctx, "tg:" + arn) &&
        std::find(unknown.begin(), unknown.end(), arn) == unknown.end()) {
      unknown.push_back(arn);
    }
  }
  for (size_t i = 0; i < unknown.size(); i += kTagsPerCall) {
    aws::DescribeTagsRequest r;
    r.resource_arns.assign(unknown.begin() + i,
                           unknown.begin() + std::min(unknown.size(), i + kTagsPerCall));
    auto read = ctx.aws().elbv2->DescribeTags(r);
    if (!read.ok()) return std::move(read).take_error();
    for (const auto& arn : r.resource_arns) {
      auto it = read->tags.find(arn);
      RecordTaggedGuards(
          ctx, tag_keys, "tg:" + arn,
          it == read->tags.end() ? std::map<std::string, std::string>{} : it->second);
    }
  }
  return Ok{};
}

}  // namespace fleetkeeper::handlers
