// RAII ownership for the C libraries: a deleter and a unique_ptr alias per handle type. Handles are
// move-only; call release() only where the C API takes ownership.
#pragma once

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace fleetkeeper {

#define FK_C_HANDLE(Alias, Type, FreeFn)                  \
  struct Alias##Deleter {                                 \
    void operator()(Type* p) const noexcept {             \
      if (p != nullptr) FreeFn(p);                        \
    }                                                     \
  };                                                      \
  using Alias = std::unique_ptr<Type, Alias##Deleter>

// librdkafka
FK_C_HANDLE(KafkaConfPtr, rd_kafka_conf_t, rd_kafka_conf_destroy);
FK_C_HANDLE(KafkaTopicPartitionsPtr, rd_kafka_topic_partition_list_t,
            rd_kafka_topic_partition_list_destroy);
FK_C_HANDLE(KafkaMessagePtr, rd_kafka_message_t, rd_kafka_message_destroy);
FK_C_HANDLE(KafkaHeadersPtr, rd_kafka_headers_t, rd_kafka_headers_destroy);
FK_C_HANDLE(KafkaQueuePtr, rd_kafka_queue_t, rd_kafka_queue_destroy);
FK_C_HANDLE(KafkaEventPtr, rd_kafka_event_t, rd_kafka_event_destroy);
FK_C_HANDLE(KafkaErrorPtr, rd_kafka_error_t, rd_kafka_error_destroy);
FK_C_HANDLE(KafkaGroupMetadataPtr, rd_kafka_consumer_group_metadata_t,
            rd_kafka_consumer_group_metadata_destroy);
FK_C_HANDLE(KafkaAdminOptionsPtr, rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy);
FK_C_HANDLE(KafkaNewTopicPtr, rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy);
FK_C_HANDLE(KafkaConfigResourcePtr, rd_kafka_ConfigResource_t, rd_kafka_ConfigResource_destroy);
FK_C_HANDLE(KafkaTopicPtr, rd_kafka_topic_t, rd_kafka_topic_destroy);

// rd_kafka_t needs close-before-destroy for consumers; owners call rd_kafka_consumer_close first.
FK_C_HANDLE(KafkaPtr, rd_kafka_t, rd_kafka_destroy);

// libcurl
FK_C_HANDLE(CurlEasyPtr, CURL, curl_easy_cleanup);
FK_C_HANDLE(CurlMultiPtr, CURLM, curl_multi_cleanup);
FK_C_HANDLE(CurlSlistPtr, curl_slist, curl_slist_free_all);

// OpenSSL
FK_C_HANDLE(EvpMdCtxPtr, EVP_MD_CTX, EVP_MD_CTX_free);
FK_C_HANDLE(EvpPkeyPtr, EVP_PKEY, EVP_PKEY_free);
FK_C_HANDLE(X509Ptr, X509, X509_free);
FK_C_HANDLE(BioPtr, BIO, BIO_free_all);

#undef FK_C_HANDLE

}  // namespace fleetkeeper
