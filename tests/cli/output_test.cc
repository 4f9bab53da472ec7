#include "cli/output.h"

#include <sstream>
#include <string>
#include <vector>

#include "cli/workflow_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig::cli {
namespace {

TEST(TerminalSafeTest, KeepsTextAndShowsControlsAsEscapes) {
  EXPECT_EQ(TerminalSafe("order_flow v2: ok"), "order_flow v2: ok");
  EXPECT_EQ(TerminalSafe("Bestellung \xc3\xbc \xe6\xb3\xa8\xe6\x96\x87 \xf0\x9f\x93\xa6"),
            "Bestellung \xc3\xbc \xe6\xb3\xa8\xe6\x96\x87 \xf0\x9f\x93\xa6");
  EXPECT_EQ(TerminalSafe("a\x1b[2Jb\x07\rc\bd\x7f"), "a\\x1b[2Jb\\x07\\x0dc\\x08d\\x7f");
  EXPECT_EQ(TerminalSafe("line\nnext\ttab"), "line\\nnext\\ttab");
  EXPECT_EQ(TerminalSafe("line\nnext", /*keep_newlines=*/true), "line\nnext");
  // C1 controls (CSI as one code point) and the overrides that reorder what is shown.
  EXPECT_EQ(TerminalSafe("x\xc2\x9b"
                         "2Jy"),
            "x\\u009b2Jy");
  EXPECT_EQ(TerminalSafe("evil\xe2\x80\xaegnp.exe"), "evil\\u202egnp.exe");
  // Not UTF-8: a stray continuation byte, a truncated sequence, an overlong '/' and a surrogate.
  EXPECT_EQ(TerminalSafe("\x80z"), "\\x80z");
  EXPECT_EQ(TerminalSafe("\xe6\xb3"), "\\xe6\\xb3");
  EXPECT_EQ(TerminalSafe("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(TerminalSafe("\xed\xa0\x80"), "\\xed\\xa0\\x80");
}

TEST(TerminalSafeTest, TableCellsAreShownEscaped) {
  Table t({"NAME"});
  t.AddRow({"esc\x1b]0;title\x07name"});
  std::ostringstream out;
  t.Print(out);
  EXPECT_EQ(out.str(), "NAME\nesc\\x1b]0;title\\x07name\n");
}

conductor::proto::Task Scheduled(const std::string& ref, const std::string& type,
                                 const std::string& domain = "") {
  conductor::proto::Task t;
  t.set_reference_task_name(ref);
  t.set_task_type(type);
  t.set_domain(domain);
  t.set_status(conductor::proto::Task::SCHEDULED);
  return t;
}

v1::PollData Polled(const std::string& type, const std::string& domain, int64_t at) {
  v1::PollData p;
  p.set_queue_name(type);
  p.set_domain(domain);
  p.set_worker_id("worker-1");
  p.set_last_poll_time(at);
  return p;
}

TEST(WaitingForWorkersTest, NamesStepsWhoseTaskTypeNoWorkerPolls) {
  const int64_t now = 1'000'000'000;
  const conductor::proto::Task never = Scheduled("fetch", "cmig_fetch");
  const conductor::proto::Task polled = Scheduled("plan", "cmig_plan");
  const conductor::proto::Task gone = Scheduled("apply", "cmig_apply");
  const conductor::proto::Task other_domain = Scheduled("verify", "cmig_verify", "blue");
  const std::vector<v1::PollData> polls = {
      Polled("cmig_plan", "", now - 2'000),
      Polled("cmig_apply", "", now - kWorkerGoneAfterMs - 5'000),
      Polled("cmig_verify", "", now - 1'000),  // the queue without a domain: not this step's
  };
  EXPECT_THAT(WaitingForWorkers({&never, &polled, &gone, &other_domain}, polls, "dev:8090", now),
              ::testing::ElementsAre(
                  "step fetch is SCHEDULED, but no worker has polled cmig_fetch on dev:8090 since "
                  "it started: is migration-worker running against it?",
                  ::testing::AllOf(
                      ::testing::StartsWith("step apply is SCHEDULED, but no worker has polled "
                                            "cmig_apply on dev:8090 for "),
                      ::testing::HasSubstr("(last: worker-1)")),
                  ::testing::StartsWith("step verify is SCHEDULED, but no worker has polled "
                                        "cmig_verify (domain blue) on dev:8090 since")));
}

}  // namespace
}  // namespace cmig::cli
