#include "server/http/redact.h"

#include <gtest/gtest.h>

namespace petdns::http {
namespace {

TEST(RedactUrl, RemovesUserInfoOnly) {
  EXPECT_EQ(RedactUrl("https://admin:s3cret@10.0.0.1:6443/api/v1/services?watch=1"),
            "https://REDACTED@10.0.0.1:6443/api/v1/services?watch=1");
  EXPECT_EQ(RedactUrl("https://token@host/"), "https://REDACTED@host/");
  EXPECT_EQ(RedactUrl("https://10.0.0.1:6443/api?x=a@b"), "https://10.0.0.1:6443/api?x=a@b");
  EXPECT_EQ(RedactUrl("http://[::1]:8080/"), "http://[::1]:8080/");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
}

TEST(RedactCredentials, BearerBasicAndAuthorizationHeaders) {
  EXPECT_EQ(RedactCredentials("401: Bearer abc.def-ghi rejected"), "401: Bearer REDACTED rejected");
  EXPECT_EQ(RedactCredentials("authorization: bearer xyz\nnext"),
            "authorization: bearer REDACTED\nnext");
  EXPECT_EQ(RedactCredentials("{\"h\":\"Basic dXNlcjpwYXNz\"}"), "{\"h\":\"Basic REDACTED\"}");
  EXPECT_EQ(RedactCredentials("Authorization: tok123"), "Authorization: REDACTED");
  EXPECT_EQ(RedactCredentials("nothing secret here"), "nothing secret here");
  EXPECT_EQ(RedactCredentials("ends with Bearer "), "ends with Bearer REDACTED");
}

}  // namespace
}  // namespace petdns::http
