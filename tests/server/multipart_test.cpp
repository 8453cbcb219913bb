#include "server/multipart.hpp"

#include <gtest/gtest.h>

#include "server/http_types.hpp"

namespace safelynx::server {
namespace {

using namespace std::string_literals;

// Runs parse_multipart expecting a malformed_multipart error; returns its message.
std::string parse_error(std::string_view content_type, std::string_view body) {
  try {
    parse_multipart(content_type, body);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.code(), "malformed_multipart");
    return e.what();
  }
  ADD_FAILURE() << "no ApiError thrown";
  return "";
}

TEST(MultipartTest, MediaTypeStripsParametersAndLowercases) {
  EXPECT_EQ(media_type("Multipart/Form-Data; boundary=x"), "multipart/form-data");
  EXPECT_EQ(media_type("  application/json  "), "application/json");
  EXPECT_EQ(media_type(""), "");
}

TEST(MultipartTest, CurlStyleBodyWithTwoFieldsAndAFile) {
  const std::string boundary = "------------------------d74496d66958873e";
  const std::string jpeg = "\xff\xd8\xff\xe0\x00\x10JFIF\x00"s;
  const std::string body =
      "--" + boundary + "\r\n" +
      "Content-Disposition: form-data; name=\"name\"\r\n\r\n"
      "Alice\r\n"
      "--" + boundary + "\r\n" +
      "Content-Disposition: form-data; name=\"notes\"\r\n\r\n"
      "line one\r\nline two\r\n"
      "--" + boundary + "\r\n" +
      "Content-Disposition: form-data; name=\"photo\"; filename=\"face.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n\r\n" +
      jpeg + "\r\n"
      "--" + boundary + "--\r\n";
  const auto parts = parse_multipart("multipart/form-data; boundary=" + boundary, body);
  ASSERT_EQ(parts.size(), 3U);
  EXPECT_EQ(parts[0].name, "name");
  EXPECT_EQ(parts[0].body, "Alice");
  EXPECT_FALSE(parts[0].filename.has_value());
  EXPECT_EQ(parts[0].content_type, "");
  EXPECT_EQ(parts[1].name, "notes");
  EXPECT_EQ(parts[1].body, "line one\r\nline two");
  EXPECT_EQ(parts[2].name, "photo");
  EXPECT_EQ(parts[2].filename, "face.jpg");
  EXPECT_EQ(parts[2].content_type, "image/jpeg");
  EXPECT_EQ(parts[2].body, jpeg);
  EXPECT_EQ(parts[2].body.size(), 11U);
}

TEST(MultipartTest, QuotedBoundaryPreambleAndEpilogueAreHandled) {
  const std::string body =
      "This is the preamble.\r\n"
      "--a;b c\r\n"
      "content-disposition: form-data; name=\"field\"; filename=\"we\\\"ird;name.txt\"\r\n\r\n"
      "value\r\n"
      "--a;b c--\r\n"
      "epilogue text --a;b c\r\n";
  const auto parts = parse_multipart("multipart/form-data; charset=utf-8; BOUNDARY=\"a;b c\"", body);
  ASSERT_EQ(parts.size(), 1U);
  EXPECT_EQ(parts[0].name, "field");
  EXPECT_EQ(parts[0].filename, "we\"ird;name.txt");
  EXPECT_EQ(parts[0].body, "value");
}

TEST(MultipartTest, BinaryContentWithCrLfAndBoundaryLikeBytes) {
  const std::string boundary = "XyZ";
  // Bytes that resemble the delimiter but are not one: no leading CRLF, a
  // longer token after the boundary, a truncated boundary, NULs and bare CRs.
  const std::string content =
      "\r\n\r\n--XyZ inline\x00\x01\r\n--XyZW\r\n--Xy\r\r\n\n\xff--XyZ--\x00"s;
  const std::string body = "--XyZ\r\n"
                           "Content-Disposition: form-data; name=\"blob\"; filename=\"b.bin\"\r\n"
                           "Content-Type: application/octet-stream\r\n\r\n" +
                           content + "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nok\r\n--XyZ--";
  const auto parts = parse_multipart("multipart/form-data; boundary=" + boundary, body);
  ASSERT_EQ(parts.size(), 2U);
  EXPECT_EQ(parts[0].body, content);
  EXPECT_EQ(parts[0].body.size(), content.size());
  EXPECT_EQ(parts[1].name, "after");
  EXPECT_EQ(parts[1].body, "ok");
}

TEST(MultipartTest, EmptyPartBody) {
  const auto parts = parse_multipart("multipart/form-data; boundary=b",
                                     "--b\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n\r\n--b--\r\n");
  ASSERT_EQ(parts.size(), 1U);
  EXPECT_EQ(parts[0].body, "");
}

TEST(MultipartTest, MissingBoundaryIsAnError) {
  EXPECT_NE(parse_error("multipart/form-data", "--x\r\n").find("boundary"), std::string::npos);
  EXPECT_NE(parse_error("multipart/form-data; boundary=\"\"", "--x\r\n").find("boundary"), std::string::npos);
  EXPECT_NE(parse_error("application/json", "{}").find("multipart/form-data"), std::string::npos);
}

TEST(MultipartTest, BodyWithoutTheBoundaryIsAnError) {
  EXPECT_NE(parse_error("multipart/form-data; boundary=zz", "hello").find("does not contain the boundary"),
            std::string::npos);
}

TEST(MultipartTest, MissingClosingDelimiterIsAnError) {
  const std::string body = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue without end";
  EXPECT_NE(parse_error("multipart/form-data; boundary=b", body).find("missing closing boundary"), std::string::npos);
  // A truncated upload (cut inside the final delimiter) is also incomplete.
  const std::string cut = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--";
  EXPECT_NE(parse_error("multipart/form-data; boundary=b", cut).find("missing closing boundary"), std::string::npos);
}

TEST(MultipartTest, PartWithoutDispositionOrNameIsAnError) {
  EXPECT_NE(parse_error("multipart/form-data; boundary=b", "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--")
                .find("no Content-Disposition"),
            std::string::npos);
  EXPECT_NE(parse_error("multipart/form-data; boundary=b",
                        "--b\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--b--")
                .find("no field name"),
            std::string::npos);
  EXPECT_NE(parse_error("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nx")
                .find("no end of headers"),
            std::string::npos);
}

TEST(MultipartTest, NoPartsAtAll) {
  EXPECT_TRUE(parse_multipart("multipart/form-data; boundary=b", "--b--\r\n").empty());
}

}  // namespace
}  // namespace safelynx::server
