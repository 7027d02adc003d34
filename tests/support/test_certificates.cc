#include "support/test_certificates.h"

#include <cstdlib>

namespace larder::testing {

TestCertificates::TestCertificates() {
  ca = dir.Join("ca.pem");
  key = dir.Join("server.key");
  cert = dir.Join("server.pem");
  dir.Write("san.ext", "subjectAltName=IP:127.0.0.1\n");
  const std::string script =
      "cd '" + dir.path() +
      "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
      "-subj /CN=larder-test-ca && openssl req -newkey rsa:2048 -nodes -keyout server.key "
      "-out server.csr -subj /CN=larder-test-server && openssl x509 -req -in server.csr -CA "
      "ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext";
  ok = std::system((script + " >'" + dir.Join("openssl.log") + "' 2>&1").c_str()) == 0;
  if (!ok) error = "openssl failed: " + ReadFileText(dir.Join("openssl.log"));
}

}  // namespace larder::testing
