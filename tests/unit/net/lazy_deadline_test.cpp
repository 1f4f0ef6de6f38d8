#include "net/lazy_deadline.h"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <optional>
#include <thread>

namespace smmf::net {
namespace {

using Clock = LazyDeadline::Clock;
using std::chrono::milliseconds;

// Runs the context until `done` or `limit` passes; returns the time taken.
milliseconds run_for(boost::asio::io_context& ioc, milliseconds limit) {
  auto start = Clock::now();
  ioc.run_for(limit);
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

TEST(LazyDeadline, FiresAtTheDeadline) {
  boost::asio::io_context ioc;
  std::optional<Clock::time_point> fired;
  LazyDeadline d(ioc.get_executor(), [&] { fired = Clock::now(); });
  auto start = Clock::now();
  d.expires_after(milliseconds(30));
  ioc.run();  // returns: the timer is the only work
  ASSERT_TRUE(fired);
  EXPECT_GE(*fired - start, milliseconds(30));
  EXPECT_LT(*fired - start, milliseconds(1000));
  EXPECT_EQ(d.deadline(), Clock::time_point::max());
}

TEST(LazyDeadline, AMovedDeadlineFiresAtTheNewTimeOnly) {
  boost::asio::io_context ioc;
  int fired = 0;
  Clock::time_point when;
  LazyDeadline d(ioc.get_executor(), [&] {
    ++fired;
    when = Clock::now();
  });
  auto start = Clock::now();
  d.expires_after(milliseconds(20));
  // Moved later before the first time: the timer fires at 20 ms, finds the deadline ahead and
  // waits again; the owner sees one expiry, at the later time.
  boost::asio::steady_timer mover(ioc, milliseconds(10));
  mover.async_wait([&](auto) { d.expires_at(start + milliseconds(80)); });
  ioc.run();
  EXPECT_EQ(fired, 1);
  EXPECT_GE(when - start, milliseconds(80));
}

TEST(LazyDeadline, AnEarlierDeadlineReArms) {
  boost::asio::io_context ioc;
  int fired = 0;
  LazyDeadline d(ioc.get_executor(), [&] { ++fired; });
  d.expires_after(std::chrono::hours(1));
  d.expires_after(milliseconds(10));
  auto took = run_for(ioc, milliseconds(2000));
  EXPECT_EQ(fired, 1);
  // The hour-long wait was replaced by the early one: after it fired nothing is pending, so
  // run() returned at once.
  EXPECT_LT(took, milliseconds(1000));
}

TEST(LazyDeadline, ClearedDeadlineDoesNotFire) {
  boost::asio::io_context ioc;
  int fired = 0;
  LazyDeadline d(ioc.get_executor(), [&] { ++fired; });
  d.expires_after(milliseconds(10));
  d.clear();
  ioc.run();  // the armed wait fires, finds no deadline, and stops
  EXPECT_EQ(fired, 0);
}

TEST(LazyDeadline, CancelReleasesTheContextAtOnce) {
  boost::asio::io_context ioc;
  int fired = 0;
  LazyDeadline d(ioc.get_executor(), [&] { ++fired; });
  d.expires_after(std::chrono::hours(1));
  d.cancel();
  auto took = run_for(ioc, milliseconds(2000));
  EXPECT_EQ(fired, 0);
  EXPECT_LT(took, milliseconds(1000));  // no pending wait keeps run() going
  d.expires_after(milliseconds(5));     // usable again
  ioc.restart();
  ioc.run();
  EXPECT_EQ(fired, 1);
}

TEST(LazyDeadline, DestroyedWhileArmedRunsNothing) {
  boost::asio::io_context ioc;
  int fired = 0;
  {
    LazyDeadline d(ioc.get_executor(), [&] { ++fired; });
    d.expires_after(milliseconds(1));
    // Let the wait complete (its handler is queued) before the owner goes away.
    std::this_thread::sleep_for(milliseconds(5));
    ioc.poll_one();
  }
  ioc.run();
  EXPECT_LE(fired, 1);  // fired during poll_one or not at all: never after destruction
  int before = fired;
  ioc.restart();
  ioc.run();
  EXPECT_EQ(fired, before);
}

TEST(LazyDeadline, ExpiryCanSetTheNextDeadline) {
  boost::asio::io_context ioc;
  int fired = 0;
  std::optional<LazyDeadline> d;
  d.emplace(ioc.get_executor(), [&] {
    if (++fired < 3) d->expires_after(milliseconds(5));
  });
  d->expires_after(milliseconds(5));
  ioc.run();
  EXPECT_EQ(fired, 3);
}

}  // namespace
}  // namespace smmf::net
