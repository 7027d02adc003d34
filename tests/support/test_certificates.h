// A certificate authority and a server certificate it signed, for TLS
// tests, made with the `openssl` command (scripts/bootstrap.sh installs it)
// in a temporary directory: the server certificate names the IP address
// 127.0.0.1 only, so https://127.0.0.1 verifies and https://localhost does
// not.
//
//   TestCertificates certs;
//   ASSERT_TRUE(certs.ok) << certs.error;
//   ... serve with certs.key and certs.cert, trust certs.ca ...
#pragma once

#include <string>

#include "support/test_util.h"

namespace larder::testing {

struct TestCertificates {
  TestCertificates();

  TempDir dir;
  std::string ca;    // the CA's certificate (PEM), to trust
  std::string key;   // the server's private key (PEM)
  std::string cert;  // the server's certificate (PEM)
  bool ok = false;
  std::string error;  // openssl's output when !ok
};

}  // namespace larder::testing
