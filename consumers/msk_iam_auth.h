// Amazon MSK IAM authentication for every Kafka client of the process: `kafka:` properties
// `security.protocol: SASL_SSL` and `sasl.mechanism: AWS_MSK_IAM` make each client authenticate
// with OAUTHBEARER tokens made from the AWS credential chain (awsclient/msk_iam.h), which
// librdkafka refreshes before they expire, on its background thread. The region is the one in
// `sasl.oauthbearer.config: region=<region>` when given, else the AWS CLI's (AWS_REGION, the
// profile, IMDS).
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <string>

#include "common/error.h"

namespace fleetkeeper::consumers {

// Whether `properties` ask for MSK IAM (sasl.mechanism AWS_MSK_IAM, any case).
bool WantsMskIam(const std::map<std::string, std::string>& properties);

// `properties` as librdkafka takes them: AWS_MSK_IAM becomes OAUTHBEARER.
std::map<std::string, std::string> MskIamProperties(std::map<std::string, std::string> properties);

// On a conf made from MskIamProperties: the token refresh callback.
void SetMskIamCallback(rd_kafka_conf_t* conf);

// On the client made from that conf: refresh tokens on librdkafka's background thread, so that a
// client that is not polled (a reader between reads) keeps a valid token.
Status EnableMskIamBackground(rd_kafka_t* client);

// The region `sasl.oauthbearer.config` names ("region=eu-west-1", other key=value pairs allowed),
// or "" when it names none.
std::string RegionOfOauthbearerConfig(const char* config);

}  // namespace fleetkeeper::consumers
