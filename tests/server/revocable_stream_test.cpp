// A live stream ends once the right to watch it does, and asks for that right
// only once per interval (the check reads the token store).
#include "server/revocable_stream.hpp"

#include <gtest/gtest.h>

namespace safelynx::server {
namespace {

using namespace std::chrono_literals;

class CountingStream : public ResponseStream {
 public:
  std::optional<std::string> next_part() override { return "part " + std::to_string(++parts); }
  std::chrono::milliseconds poll_interval() const override { return 7ms; }
  int parts = 0;
};

TEST(RevocableStream, EndsAtTheFirstCheckAfterTheRightIsGone) {
  auto inner = std::make_shared<CountingStream>();
  bool allowed = true;
  int checks = 0;
  auto now = RevocableStream::Clock::time_point{};
  RevocableStream stream(
      inner,
      [&] {
        ++checks;
        return allowed;
      },
      30ms, [&] { return now; });
  EXPECT_EQ(stream.poll_interval(), 7ms);
  EXPECT_EQ(stream.next_part(), "part 1");
  EXPECT_EQ(stream.next_part(), "part 2");
  EXPECT_EQ(checks, 0);  // not on every part
  now += 40ms;
  EXPECT_EQ(stream.next_part(), "part 3");
  EXPECT_EQ(checks, 1);
  allowed = false;
  now += 10ms;
  EXPECT_EQ(stream.next_part(), "part 4");  // until the next check is due
  now += 40ms;
  EXPECT_EQ(stream.next_part(), std::nullopt);
  EXPECT_EQ(checks, 2);
  EXPECT_EQ(inner->parts, 4);
}

}  // namespace
}  // namespace safelynx::server
