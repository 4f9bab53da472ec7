#include "cli/output.h"

#include <sstream>

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

}  // namespace
}  // namespace cmig::cli
