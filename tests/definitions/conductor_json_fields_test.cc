// Every field of every definition message survives Conductor JSON and back. The converter maps
// fields by reflection, so a field added to conductor.proto is carried without code changes;
// this test is what proves it, since it fills fields by reflection too.
#include <ostream>
#include <string>
#include <vector>

#include "base/status_matchers.h"
#include "definitions/conductor_json.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace cmig {
namespace {

using ::cmig::testing::IsOk;
using conductor::proto::SubWorkflowParams;
using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using conductor::proto::WorkflowTask;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Value;
using google::protobuf::util::MessageDifferencer;
using ::testing::IsEmpty;

// Which of two value sets to fill with. Booleans and enums cannot differ from both the proto
// zero and every Java default at once, so each is filled once with true / its last value and
// once with false / its first value: in one of the two passes it differs from what a dropped
// key would read back as.
enum class Pass { kFirst, kSecond };

std::string PassName(Pass p) {
  return p == Pass::kFirst ? "TrueAndLastEnumValues" : "FalseAndFirstEnumValues";
}
void PrintTo(Pass p, std::ostream* os) { *os << PassName(p); }

constexpr int kMaxDepth = 3;

// Whether `f` holds definition messages (directly, in a list or as map values), which recursion
// fills only down to kMaxDepth.
bool Nests(const FieldDescriptor* f) {
  const FieldDescriptor* held = f->is_map() ? f->message_type()->map_value() : f;
  return held->message_type() != nullptr && held->message_type() != Value::descriptor();
}

void FillEveryField(Message* m, Pass pass, int depth);

// A nested definition message, or a google.protobuf.Value holding some JSON.
void FillMessage(Message* m, const FieldDescriptor* f, Pass pass, int depth) {
  if (m->GetDescriptor() != Value::descriptor()) {
    FillEveryField(m, pass, depth + 1);
    return;
  }
  Value* v = static_cast<Value*>(m);
  if (f->containing_type() == SubWorkflowParams::descriptor()) {
    // An inline definition: the converter normalises it, so give it the normalised form.
    WorkflowDef inline_def;
    FillEveryField(&inline_def, pass, depth + 1);
    *v = WorkflowDefToValue(inline_def);
    return;
  }
  auto parsed = ParseJson(R"({"s":"${workflow.input.x}","n":[1.5,-2,null,true],"o":{}})");
  ASSERT_THAT(parsed, IsOk());
  *v = *parsed;
}

void FillEveryField(Message* m, Pass pass, int depth) {
  const google::protobuf::Descriptor* d = m->GetDescriptor();
  const google::protobuf::Reflection* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string text = "v_" + f->name();
    const bool first = pass == Pass::kFirst;
    if (Nests(f) && depth >= kMaxDepth) {
      continue;
    }
    if (f->is_map()) {
      for (const char* key : {"k1", "two words"}) {
        Message* entry = r->AddMessage(m, f);
        entry->GetReflection()->SetString(entry, f->message_type()->map_key(), key);
        const FieldDescriptor* value_field = f->message_type()->map_value();
        if (value_field->type() == FieldDescriptor::TYPE_STRING) {
          entry->GetReflection()->SetString(entry, value_field, text);
        } else {
          FillMessage(entry->GetReflection()->MutableMessage(entry, value_field), value_field, pass,
                      depth);
        }
      }
      continue;
    }
    const int count = f->is_repeated() ? 2 : 1;
    for (int n = 0; n < count; ++n) {
      const bool add = f->is_repeated();
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          add ? r->AddString(m, f, text + std::to_string(n)) : r->SetString(m, f, text);
          break;
        case FieldDescriptor::CPPTYPE_INT32:
          // Differs from 0, -1 and every Java default.
          add ? r->AddInt32(m, f, 7 + n) : r->SetInt32(m, f, 7);
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          add ? r->AddInt64(m, f, 4000000000 + n) : r->SetInt64(m, f, 4000000000);
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          add ? r->AddBool(m, f, first) : r->SetBool(m, f, first);
          break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          const auto* e = f->enum_type()->value(first ? f->enum_type()->value_count() - 1 : 0);
          add ? r->AddEnum(m, f, e) : r->SetEnum(m, f, e);
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          FillMessage(add ? r->AddMessage(m, f) : r->MutableMessage(m, f), f, pass, depth);
          break;
        default:
          ADD_FAILURE() << f->full_name() << " has a type the converter does not handle";
      }
    }
  }
}

// Every field of `m` (and of the messages it holds, to the depth filled) is set. Only for the
// first pass: proto3 has no presence for false and first enum values.
void ExpectEveryFieldSet(const Message& m, int depth) {
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const google::protobuf::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (Nests(f) && depth >= kMaxDepth) {
      continue;
    }
    EXPECT_TRUE(f->is_repeated() ? r->FieldSize(m, f) > 0 : r->HasField(m, f)) << f->full_name();
    if (Nests(f) && !f->is_map()) {
      ExpectEveryFieldSet(f->is_repeated() ? r->GetRepeatedMessage(m, f, 0) : r->GetMessage(m, f),
                          depth + 1);
    }
  }
}

void ExpectEqual(const Message& want, const Message& got) {
  std::string diff;
  MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(want, got)) << diff;
}

class EveryFieldTest : public ::testing::TestWithParam<Pass> {};

TEST_P(EveryFieldTest, WorkflowDefRoundTripsThroughConductorJson) {
  WorkflowDef def;
  FillEveryField(&def, GetParam(), 0);
  if (GetParam() == Pass::kFirst) {
    ExpectEveryFieldSet(def, 0);
  }
  std::vector<JsonDiagnostic> dropped;
  auto back = WorkflowDefFromConductorJson(WorkflowDefToConductorJson(def), &dropped);
  ASSERT_THAT(back, IsOk());
  ExpectEqual(def, *back);
  EXPECT_THAT(dropped, IsEmpty());
}

TEST_P(EveryFieldTest, TaskDefRoundTripsThroughConductorJson) {
  TaskDef def;
  FillEveryField(&def, GetParam(), 0);
  if (GetParam() == Pass::kFirst) {
    ExpectEveryFieldSet(def, 0);
  }
  std::vector<JsonDiagnostic> dropped;
  auto back = TaskDefFromConductorJson(TaskDefToConductorJson(def), &dropped);
  ASSERT_THAT(back, IsOk());
  ExpectEqual(def, *back);
  EXPECT_THAT(dropped, IsEmpty());
}

TEST_P(EveryFieldTest, WorkflowTaskRoundTripsThroughConductorJson) {
  WorkflowTask task;
  FillEveryField(&task, GetParam(), 0);
  if (GetParam() == Pass::kFirst) {
    ExpectEveryFieldSet(task, 0);
  }
  std::vector<JsonDiagnostic> dropped;
  auto back = WorkflowTaskFromValue(WorkflowTaskToValue(task), &dropped);
  ASSERT_THAT(back, IsOk());
  ExpectEqual(task, *back);
  EXPECT_THAT(dropped, IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(ConductorJson, EveryFieldTest,
                         ::testing::Values(Pass::kFirst, Pass::kSecond),
                         [](const auto& info) { return PassName(info.param); });

}  // namespace
}  // namespace cmig
