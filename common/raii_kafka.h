// RAII handles for librdkafka (common/raii.h). Users link librdkafka themselves.
#pragma once

#include <librdkafka/rdkafka.h>

#include "common/raii.h"

namespace fleetkeeper {

using KafkaConfPtr = CHandle<rd_kafka_conf_t, rd_kafka_conf_destroy>;
using KafkaTopicPartitionsPtr =
    CHandle<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>;
using KafkaMessagePtr = CHandle<rd_kafka_message_t, rd_kafka_message_destroy>;
using KafkaHeadersPtr = CHandle<rd_kafka_headers_t, rd_kafka_headers_destroy>;
using KafkaQueuePtr = CHandle<rd_kafka_queue_t, rd_kafka_queue_destroy>;
using KafkaEventPtr = CHandle<rd_kafka_event_t, rd_kafka_event_destroy>;
using KafkaErrorPtr = CHandle<rd_kafka_error_t, rd_kafka_error_destroy>;
using KafkaGroupMetadataPtr =
    CHandle<rd_kafka_consumer_group_metadata_t, rd_kafka_consumer_group_metadata_destroy>;
using KafkaAdminOptionsPtr = CHandle<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>;
using KafkaNewTopicPtr = CHandle<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy>;
using KafkaConfigResourcePtr = CHandle<rd_kafka_ConfigResource_t, rd_kafka_ConfigResource_destroy>;
using KafkaTopicPtr = CHandle<rd_kafka_topic_t, rd_kafka_topic_destroy>;

// rd_kafka_t needs close-before-destroy for consumers; owners call rd_kafka_consumer_close first.
using KafkaPtr = CHandle<rd_kafka_t, rd_kafka_destroy>;

}  // namespace fleetkeeper
