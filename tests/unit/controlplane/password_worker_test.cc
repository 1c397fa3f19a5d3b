// PasswordWorker: scrypt off the caller's thread, the answer back on the caller's
// executor, and the throttle decided in the same step as the check.
#include "controlplane/password_worker.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <thread>

#include "controlplane/password_hash.h"
#include "store_test_util.h"

namespace warden::controlplane {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Outcome {
  SignInCheck check;
  std::thread::id resumed_on;
  bool done = false;
};

asio::awaitable<void> signIn(PasswordWorker& worker, std::string user, std::string password,
                             std::shared_ptr<Outcome> out) {
  out->check = co_await worker.checkSignIn(std::move(user), std::move(password), "192.0.2.1:4000");
  out->resumed_on = std::this_thread::get_id();
  out->done = true;
}

asio::awaitable<void> hashInto(PasswordWorker& worker, std::string password,
                               std::shared_ptr<std::optional<Result<std::string>>> out) {
  out->emplace(co_await worker.hash(std::move(password)));
}

class PasswordWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store = testing::openStore(dir.db(), clock);
    ASSERT_NE(store, nullptr);
    auto hash = hashPassword(kPassword);
    ASSERT_TRUE(hash.ok());
    ASSERT_TRUE(store->storeCredential("vera", *hash, testing::kBootstrap, "viewer").ok());
  }
  // Runs the loop until `out` is done (or 10 s pass).
  void runUntilDone(const std::shared_ptr<Outcome>& out) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!out->done && std::chrono::steady_clock::now() < deadline) {
      ioc.restart();
      ioc.run_for(10ms);
    }
    ASSERT_TRUE(out->done);
  }

  static constexpr const char* kPassword = "correct horse";
  testing::StoreDir dir;
  testing::FakeClock clock;
  std::unique_ptr<Store> store;
  LoginThrottle throttle;
  asio::io_context ioc;
};

TEST_F(PasswordWorkerTest, ChecksOnItsOwnThreadAndResumesTheCallerOnItsExecutor) {
  std::atomic<std::thread::id> worked_on{};
  PasswordWorker worker(*store, throttle, [&] { worked_on = std::this_thread::get_id(); });
  auto out = std::make_shared<Outcome>();
  asio::co_spawn(ioc, signIn(worker, "vera", kPassword, out), asio::detached);
  runUntilDone(out);
  EXPECT_EQ(out->check.outcome, SignInCheck::Outcome::kAccepted);
  EXPECT_EQ(out->check.role, Role::kViewer);
  EXPECT_EQ(out->resumed_on, std::this_thread::get_id()) << "resumed off the caller's executor";
  EXPECT_NE(worked_on.load(), std::thread::id{});
  EXPECT_NE(worked_on.load(), std::this_thread::get_id()) << "scrypt ran on the caller's thread";

  // A new hash is made there too, and verifies.
  worked_on = std::thread::id{};
  auto hashed = std::make_shared<std::optional<Result<std::string>>>();
  asio::co_spawn(ioc, hashInto(worker, "new password", hashed), asio::detached);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!hashed->has_value() && std::chrono::steady_clock::now() < deadline) {
    ioc.restart();
    ioc.run_for(10ms);
  }
  ASSERT_TRUE(hashed->has_value() && (*hashed)->ok());
  EXPECT_TRUE(verifyPassword("new password", (*hashed)->value()));
  EXPECT_NE(worked_on.load(), std::thread::id{});
  EXPECT_NE(worked_on.load(), std::this_thread::get_id());
}

TEST_F(PasswordWorkerTest, WrongAndUnknownAreRefusedThenTheThrottleRefusesWithoutHashing) {
  std::atomic<int> hashed{0};
  PasswordWorker worker(*store, throttle, [&] { ++hashed; });
  auto attempt = [&](const std::string& user, const std::string& password) {
    auto out = std::make_shared<Outcome>();
    asio::co_spawn(ioc, signIn(worker, user, password, out), asio::detached);
    runUntilDone(out);
    return out->check;
  };
  // An unknown name costs one hash like a real one (local_users.h), and is refused.
  EXPECT_EQ(attempt("nobody", "wrong").outcome, SignInCheck::Outcome::kRefused);
  EXPECT_EQ(hashed.load(), 1);
  const int free = static_cast<int>(throttle.options().free_failures);
  for (int i = 0; i < free; ++i) {
    EXPECT_EQ(attempt("vera", "wrong").outcome, SignInCheck::Outcome::kRefused) << i;
  }
  EXPECT_EQ(hashed.load(), 1 + free);
  const SignInCheck waited = attempt("vera", kPassword);
  EXPECT_EQ(waited.outcome, SignInCheck::Outcome::kThrottled) << "even the right password waits";
  EXPECT_GE(waited.retry_after.count(), 1);
  EXPECT_EQ(hashed.load(), 1 + free) << "a throttled attempt was hashed";
}

}  // namespace
}  // namespace warden::controlplane
