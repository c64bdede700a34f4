// RAII ownership for the C libraries' handles: a unique_ptr whose deleter calls the library's free
// function. Handles are move-only; call release() only where the C API takes ownership. The
// aliases live with each library, so that a target includes (and links) only the libraries it
// uses: common/raii_kafka.h (librdkafka), common/raii_curl.h (libcurl), common/raii_openssl.h.
#pragma once

#include <memory>

namespace fleetkeeper {

// Frees a handle with `FreeFn`; a null handle is not passed to it.
template <auto FreeFn>
struct CHandleFree {
  template <typename T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) FreeFn(p);
  }
};

template <typename T, auto FreeFn>
using CHandle = std::unique_ptr<T, CHandleFree<FreeFn>>;

}  // namespace fleetkeeper
