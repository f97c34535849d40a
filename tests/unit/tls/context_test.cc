#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "tls/context.h"
#include "tls/ticket_keys.h"

namespace edge::tls {
namespace {

TEST(NameMatches, ExactAndOneLabelWildcards) {
  EXPECT_TRUE(nameMatches("example.com", "example.com"));
  EXPECT_TRUE(nameMatches("*.example.com", "www.example.com"));
  EXPECT_FALSE(nameMatches("*.example.com", "example.com"));
  EXPECT_FALSE(nameMatches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(nameMatches("*.example.com", ".example.com"));
  EXPECT_FALSE(nameMatches("www.example.com", "example.com"));
}

TEST(LoadCertificate, UnreadableFileIsNamed) {
  conf::TlsCertificate c;
  c.cert = "/nonexistent/edgegate-test.pem";
  c.key = "/nonexistent/edgegate-test.key";
  X509Ptr cert;
  PkeyPtr key;
  CertInfo info;
  LoadReport report;
  EXPECT_FALSE(loadCertificate(c, cert, key, nullptr, info, report, 0));
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].find("/nonexistent/edgegate-test.pem"), std::string::npos);
  EXPECT_NE(report.errors[0].find("cannot read"), std::string::npos);
}

TEST(BuildTlsSet, NoTlsListenerGivesAnEmptySet) {
  conf::Config cfg;
  LoadReport report;
  auto set = buildTlsSet(cfg, report);
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->by_listener.empty());
  EXPECT_TRUE(report.ok());
}

TEST(TicketKeys, EncryptsWithTheNewestAndDecryptsOlderWithRenewal) {
  TicketKeys keys(std::chrono::hours(1), 2);
  unsigned char name[16], iv[EVP_MAX_IV_LENGTH];
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  ASSERT_NE(mac, nullptr);
  auto run = [&](int enc) {
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    EVP_MAC_CTX* h = EVP_MAC_CTX_new(mac);
    int r = keys.handle(name, iv, c, h, enc);
    EVP_MAC_CTX_free(h);
    EVP_CIPHER_CTX_free(c);
    return r;
  };
  EXPECT_EQ(run(1), 1);
  EXPECT_EQ(run(0), 1);  // current key
  keys.rotate();
  EXPECT_EQ(run(0), 2);  // older key: accepted, ticket renewed
  keys.rotate();
  EXPECT_EQ(run(0), 0);  // aged out (keep = 2)
  EXPECT_EQ(keys.size(), 2u);
  EVP_MAC_free(mac);
}

}  // namespace
}  // namespace edge::tls
