// Checks that proto/conductor/ stays wire-compatible with conductor-oss.
//
// The facts file (tests/data/grpc-wire-facts.json) was read off Conductor's own
// protos. This test compiles nothing itself: it loads the descriptor set the
// build produced from proto/ and compares service by service, field by field.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cmig {
namespace {

namespace pb = google::protobuf;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::set<std::string> kServices = {"conductor.grpc.tasks.TaskService",
                                         "conductor.grpc.workflows.WorkflowService",
                                         "conductor.grpc.metadata.MetadataService"};
// Definitions and executions must carry every field, or data is lost in transit.
const std::set<std::string> kComplete = {
    "conductor.proto.WorkflowDef", "conductor.proto.WorkflowTask",
    "conductor.proto.TaskDef",     "conductor.proto.SubWorkflowParams",
    "conductor.proto.Task",        "conductor.proto.TaskResult",
    "conductor.proto.Workflow",    "conductor.proto.StartWorkflowRequest",
    "conductor.proto.TaskExecLog"};

std::string TypeName(const pb::FieldDescriptor* f) {
  if (f->is_map()) {
    return absl::StrCat("map<", TypeName(f->message_type()->map_key()), ",",
                        TypeName(f->message_type()->map_value()), ">");
  }
  if (f->message_type() != nullptr) return f->message_type()->full_name();
  if (f->enum_type() != nullptr) return f->enum_type()->full_name();
  return f->type_name();
}

std::string Label(const pb::FieldDescriptor* f) {
  if (f->is_map()) return "map";
  return f->is_repeated() ? "repeated" : "singular";
}

class WireFactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pb::FileDescriptorSet set;
    ASSERT_TRUE(set.ParseFromString(ReadFile(CMIG_DESCRIPTORS_PATH)))
        << "cannot read " << CMIG_DESCRIPTORS_PATH;
    for (const auto& file : set.file()) {
      ASSERT_NE(pool_.BuildFile(file), nullptr) << file.name();
      files_.push_back(file.name());
    }
    pb::util::JsonParseOptions options;
    ASSERT_TRUE(
        pb::util::JsonStringToMessage(ReadFile(CMIG_WIRE_FACTS_PATH), &facts_, options).ok());
  }

  const pb::Struct& Facts(const std::string& key) { return facts_.fields().at(key).struct_value(); }

  pb::DescriptorPool pool_;
  std::vector<std::string> files_;
  pb::Struct facts_;
};

TEST_F(WireFactsTest, EveryConductorRpcMatches) {
  int rpcs = 0;
  for (const auto& service : facts_.fields().at("services").list_value().values()) {
    const auto& s = service.struct_value().fields();
    const std::string name = s.at("full_name").string_value();
    if (!kServices.count(name)) continue;
    const pb::ServiceDescriptor* mine = pool_.FindServiceByName(name);
    ASSERT_NE(mine, nullptr) << "service " << name << " missing";
    std::set<std::string> expected;
    for (const auto& rpc : s.at("rpcs").list_value().values()) {
      const auto& r = rpc.struct_value().fields();
      const std::string method = r.at("name").string_value();
      expected.insert(method);
      const pb::MethodDescriptor* m = mine->FindMethodByName(method);
      ASSERT_NE(m, nullptr) << name << "/" << method << " missing";
      EXPECT_EQ(m->input_type()->full_name(), r.at("request").string_value()) << method;
      EXPECT_EQ(m->output_type()->full_name(), r.at("response").string_value()) << method;
      EXPECT_EQ(m->server_streaming(), r.at("server_streaming").bool_value()) << method;
      EXPECT_EQ(m->client_streaming(), r.at("client_streaming").bool_value()) << method;
      ++rpcs;
    }
    for (int i = 0; i < mine->method_count(); ++i) {
      EXPECT_TRUE(expected.count(mine->method(i)->name()))
          << name << "/" << mine->method(i)->name() << " is not Conductor's";
    }
  }
  EXPECT_EQ(rpcs, 37);
}

TEST_F(WireFactsTest, EveryConductorMessageFieldMatches) {
  const pb::Struct& messages = Facts("messages");
  std::set<std::string> seen;
  std::function<void(const pb::Descriptor*)> check = [&](const pb::Descriptor* d) {
    if (d->options().map_entry()) return;
    for (int i = 0; i < d->nested_type_count(); ++i) check(d->nested_type(i));
    const std::string name = d->full_name();
    auto it = messages.fields().find(name);
    ASSERT_NE(it, messages.fields().end()) << "message " << name << " is not Conductor's";
    seen.insert(name);
    std::map<int, const pb::Struct*> by_number;
    for (const auto& f : it->second.struct_value().fields().at("fields").list_value().values()) {
      by_number[static_cast<int>(f.struct_value().fields().at("number").number_value())] =
          &f.struct_value();
    }
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      auto fact = by_number.find(f->number());
      ASSERT_NE(fact, by_number.end()) << name << "." << f->name() << " = " << f->number();
      const auto& ff = fact->second->fields();
      EXPECT_EQ(f->name(), ff.at("name").string_value()) << name;
      EXPECT_EQ(TypeName(f), ff.at("type").string_value()) << name << "." << f->name();
      EXPECT_EQ(Label(f), ff.at("label").string_value()) << name << "." << f->name();
    }
    if (kComplete.count(name)) {
      for (const auto& [number, fact] : by_number) {
        EXPECT_NE(d->FindFieldByNumber(number), nullptr)
            << name << " lacks field " << fact->fields().at("name").string_value();
      }
    }
  };
  for (const std::string& file : files_) {
    const pb::FileDescriptor* fd = pool_.FindFileByName(file);
    if (!absl::StartsWith(fd->package(), "conductor.")) continue;
    for (int i = 0; i < fd->message_type_count(); ++i) check(fd->message_type(i));
  }
  for (const std::string& name : kComplete) EXPECT_TRUE(seen.count(name)) << name << " missing";
}

TEST_F(WireFactsTest, EnumValuesMatch) {
  for (const auto& [name, fact] : Facts("enums").fields()) {
    const pb::EnumDescriptor* e = pool_.FindEnumTypeByName(name);
    if (e == nullptr) continue;  // enums of messages we do not use (events)
    const auto& values = fact.struct_value().fields().at("values").list_value().values();
    ASSERT_EQ(e->value_count(), values.size()) << name;
    for (const auto& v : values) {
      const auto& vf = v.struct_value().fields();
      const pb::EnumValueDescriptor* mine = e->FindValueByName(vf.at("name").string_value());
      ASSERT_NE(mine, nullptr) << name << "." << vf.at("name").string_value();
      EXPECT_EQ(mine->number(), static_cast<int>(vf.at("number").number_value()));
    }
  }
}

// The project's extension services live outside Conductor's packages.
TEST_F(WireFactsTest, ExtensionsStayInOwnPackage) {
  const pb::ServiceDescriptor* catalog = pool_.FindServiceByName("cmig.v1.DefinitionCatalog");
  ASSERT_NE(catalog, nullptr);
  EXPECT_NE(catalog->FindMethodByName("ListWorkflowDefs"), nullptr);
}

}  // namespace
}  // namespace cmig
