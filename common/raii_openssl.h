// RAII handles for OpenSSL (common/raii.h). Users link OpenSSL themselves.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/raii.h"

namespace fleetkeeper {

using EvpMdCtxPtr = CHandle<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpPkeyPtr = CHandle<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = CHandle<X509, X509_free>;
using BioPtr = CHandle<BIO, BIO_free_all>;

}  // namespace fleetkeeper
