// Conductor's "${...}" input expressions, resolved against a workflow: the template (before the
// NUL) and the workflow's input (after it) are both untrusted JSON.
#include "conductor/model/workflow.pb.h"
#include "definitions/json.h"
#include "orchestrator/expressions.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [template_text, input_text] = cmig::fuzz::SplitAtNul(cmig::fuzz::Text(data, size));
  absl::StatusOr<google::protobuf::Value> template_value = cmig::ParseJson(template_text);
  if (!template_value.ok()) return 0;
  conductor::proto::Workflow wf;
  wf.set_workflow_id("wf-1");
  wf.mutable_workflow_definition()->set_name("fuzzed");
  if (absl::StatusOr<google::protobuf::Value> input = cmig::ParseJson(input_text);
      input.ok() && input->has_struct_value()) {
    *wf.mutable_input() = input->struct_value().fields();
    // A task whose output is the same document, so "${t.output...}" paths reach it too.
    conductor::proto::Task* t = wf.add_tasks();
    t->set_reference_task_name("t");
    *t->mutable_output_data() = input->struct_value().fields();
  }
  (void)cmig::orchestrator::ResolveValue(*template_value, wf);
  return 0;
}
