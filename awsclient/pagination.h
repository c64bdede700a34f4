// Token pagination (NextToken, Marker, nextToken): every paginated request struct has a
// `next_token` field and every paginated response a `next_token` field ("" on the last page), so
// one helper walks them all. A page cap guards against a service that never stops (or a fake that
// returns the same token forever): reaching it is an error, never a silently truncated list.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace fleetkeeper::aws {

inline constexpr int kDefaultMaxPages = 100;

// What a page callback of ForEachPageUntil answers: read the next page, or stop here because what
// was looked for is found (not an error: the walk returns Ok).
enum class Paging { kNext, kDone };

// Calls `fetch(request)` for each page, starting at request.next_token, and `on_page(response)`
// after each (it returns Result<Paging>). Stops at the last page, when on_page answers kDone, at
// the first error (of either callback), or with kInternal after `max_pages` pages or when a token
// repeats.
template <typename Request, typename Fetch, typename OnPage>
Status ForEachPageUntil(Request request, Fetch&& fetch, OnPage&& on_page,
                        int max_pages = kDefaultMaxPages) {
  for (int page = 0; page < max_pages; ++page) {
    auto response = fetch(request);
    if (!response.ok()) return std::move(response).take_error();
    std::string next = response->next_token;
    Result<Paging> consumed = on_page(*response);
    if (!consumed.ok()) return std::move(consumed).take_error();
    if (*consumed == Paging::kDone || next.empty()) return Ok{};
    if (next == request.next_token) {
      return Internal("pagination: the service returned the same token twice: " + next);
    }
    request.next_token = std::move(next);
  }
  return Internal("pagination: more than " + std::to_string(max_pages) + " pages");
}

// Every page: ForEachPageUntil with an `on_page` that returns Status and never stops early.
template <typename Request, typename Fetch, typename OnPage>
Status ForEachPage(Request request, Fetch&& fetch, OnPage&& on_page,
                   int max_pages = kDefaultMaxPages) {
  return ForEachPageUntil(
      std::move(request), std::forward<Fetch>(fetch),
      [&](auto& response) -> Result<Paging> {
        Status consumed = on_page(response);
        if (!consumed.ok()) return std::move(consumed).take_error();
        return Paging::kNext;
      },
      max_pages);
}

// Collects `field` of every page into one vector, e.g.
//   CollectAll(req, [&](const auto& r) { return ec2.DescribeVolumes(r); },
//              &DescribeVolumesResponse::volumes)
template <typename Request, typename Fetch, typename Response, typename Item>
Result<std::vector<Item>> CollectAll(Request request, Fetch&& fetch,
                                     std::vector<Item> Response::*field,
                                     int max_pages = kDefaultMaxPages) {
  std::vector<Item> all;
  Status status = ForEachPage(
      std::move(request), std::forward<Fetch>(fetch),
      [&](Response& page) -> Status {
        for (auto& item : page.*field) all.push_back(std::move(item));
        return Ok{};
      },
      max_pages);
  if (!status.ok()) return std::move(status).take_error();
  return all;
}

}  // namespace fleetkeeper::aws
