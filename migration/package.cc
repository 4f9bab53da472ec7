#include "migration/package.h"

#include <algorithm>
#include <functional>
#include <set>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/parallel_for.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "definitions/json_overlay.h"
#include "definitions/message_value.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "migration/references.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;

void AppendString(std::string* out, absl::string_view s) { absl::StrAppend(out, s.size(), ":", s); }

auto ItemOrder(const v1::PackageItem& i) {
  return std::make_tuple(static_cast<int>(i.kind()), i.name(), i.version());
}

}  // namespace

std::string DescribeItem(v1::ItemKind kind, absl::string_view name, int32_t version) {
  if (kind == v1::ITEM_KIND_WORKFLOW_DEF) {
    return DescribeWorkflow(name, version);
  }
  if (kind == v1::ITEM_KIND_TASK_DEF) {
    return absl::StrCat("task definition '", name, "'");
  }
  if (kind == v1::ITEM_KIND_EVENT_HANDLER) {
    return absl::StrCat("event handler '", name, "'");
  }
  if (kind == v1::ITEM_KIND_SECRET) {
    return absl::StrCat("secret '", name, "'");
  }
  if (kind == v1::ITEM_KIND_SCHEDULE) {
    return absl::StrCat("schedule '", name, "'");
  }
  return absl::StrCat("item of unknown kind '", name, "'");
}

std::string ComputePackageDigest(const v1::MigrationPackage& p) {
  std::string text = "cmig-package-digest\n";
  absl::StrAppend(&text, "format_version ", p.format_version(), "\n");
  absl::StrAppend(&text, "contains_secret_values ", p.contains_secret_values() ? 1 : 0, "\n");
  text += "source_environment ";
  AppendString(&text, p.source_environment());
  const bool format_1 = p.format_version() == 1;
  text += "\n";
  if (format_1) {
    absl::StrAppend(&text, "created_at ", p.created_at().seconds(), " ", p.created_at().nanos(),
                    "\n");
  }
  const v1::MigrationOptions& o = p.options();
  absl::StrAppend(&text, "options ", static_cast<int>(o.conflict_strategy()), " ",
                  static_cast<int>(o.version_strategy()), " ", o.include_secrets() ? 1 : 0, " ",
                  format_1 ? (o.dry_run() ? "1 " : "0 ") : "", o.skip_discovery() ? 1 : 0, "\n");
  if (o.require_task_definitions()) text += "require_task_definitions 1\n";
  if (o.on_blocked() != v1::ON_BLOCKED_UNSPECIFIED) {
    absl::StrAppend(&text, "on_blocked ", static_cast<int>(o.on_blocked()), "\n");
  }
  std::vector<const v1::PackageItem*> items;
  for (const auto& i : p.items()) {
    items.push_back(&i);
  }
  std::sort(items.begin(), items.end(),
            [](auto* a, auto* b) { return ItemOrder(*a) < ItemOrder(*b); });
  for (const v1::PackageItem* i : items) {
    absl::StrAppend(&text, "item ", static_cast<int>(i->kind()), " ");
    AppendString(&text, i->name());
    absl::StrAppend(&text, " ", i->version(), " ", i->sha256(), "\n");
  }
  std::vector<const v1::SecretValue*> secrets;
  for (const auto& s : p.secrets()) {
    secrets.push_back(&s);
  }
  std::sort(secrets.begin(), secrets.end(), [](auto* a, auto* b) {
    return std::tie(a->name(), a->value()) < std::tie(b->name(), b->value());
  });
  for (const v1::SecretValue* s : secrets) {
    text += "secret ";
    AppendString(&text, s->name());
    text += " ";
    AppendString(&text, s->value());
    text += "\n";
  }
  return Sha256Hex(text);
}

absl::StatusOr<BuiltPackage> BuildPackage(const Discovery& discovery, const PackageHeader& header) {
  if (header.source_environment.empty()) {
    return absl::InvalidArgumentError("the package needs the source environment's id");
  }
  BuiltPackage built;
  v1::MigrationPackage& p = built.package;
  p.set_format_version(kPackageFormatVersion);
  p.set_source_environment(header.source_environment);
  *p.mutable_created_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(header.created_at));
  *p.mutable_options() = header.options;
  v1::Manifest* manifest = p.mutable_manifest();
  *manifest->mutable_selection() = header.selection;

  // One entry per item, in item order (discovery output is sorted already, so items end up
  // sorted by (kind, name, version)). Serialising and hashing each definition is independent of
  // the others: it runs on every core, then the items are appended in order.
  struct Pending {
    v1::ItemKind kind;
    const std::string* name;
    int32_t version;
    std::function<google::protobuf::Value()> value;
    const google::protobuf::Value* extra;
    bool requested;
    const std::string* from;
    std::string json, extra_json, sha256;
  };
  static const google::protobuf::Value kNoExtra;
  std::vector<Pending> pending;
  pending.reserve(discovery.task_defs.size() + discovery.workflows.size() +
                  discovery.event_handlers.size() + discovery.schedules.size());
  for (const DiscoveredTaskDef& t : discovery.task_defs) {
    pending.push_back({v1::ITEM_KIND_TASK_DEF, &t.def.name(), 0,
                       [&t] { return TaskDefToValue(t.def); }, &t.extra, t.requested,
                       &t.discovered_from});
  }
  for (const DiscoveredWorkflow& w : discovery.workflows) {
    pending.push_back({v1::ITEM_KIND_WORKFLOW_DEF, &w.def.name(), w.def.version(),
                       [&w] { return WorkflowDefToValue(w.def); }, &w.extra, w.requested,
                       &w.discovered_from});
  }
  for (const DiscoveredEventHandler& h : discovery.event_handlers) {
    pending.push_back({v1::ITEM_KIND_EVENT_HANDLER, &h.def.name(), 0,
                       [&h] { return EventHandlerToValue(h.def); }, &kNoExtra, h.requested,
                       &h.discovered_from});
  }
  for (const DiscoveredSchedule& s : discovery.schedules) {
    pending.push_back({v1::ITEM_KIND_SCHEDULE, &s.def.name(), 0,
                       [&s] { return ScheduleDefinitionToValue(s.def); }, &kNoExtra, s.requested,
                       &s.discovered_from});
  }
  ParallelFor(pending.size(), [&pending](size_t i) {
    Pending& e = pending[i];
    const google::protobuf::Value value = e.value();
    e.json = CanonicalJson(value);
    if (e.extra->has_struct_value()) {
      e.extra_json = CanonicalJson(*e.extra);
      e.sha256 = Sha256Hex(ItemJsonWithExtras(value, *e.extra));
    } else {
      e.sha256 = Sha256Hex(e.json);
    }
  });
  p.mutable_items()->Reserve(static_cast<int>(pending.size()));
  manifest->mutable_entries()->Reserve(static_cast<int>(pending.size()));
  for (Pending& e : pending) {
    v1::PackageItem* item = p.add_items();
    item->set_kind(e.kind);
    item->set_name(*e.name);
    item->set_version(e.version);
    item->set_canonical_json(std::move(e.json));
    item->set_extra_json(std::move(e.extra_json));
    item->set_sha256(std::move(e.sha256));
    v1::ManifestEntry* m = manifest->add_entries();
    m->set_kind(e.kind);
    m->set_name(*e.name);
    m->set_version(e.version);
    m->set_sha256(item->sha256());
    m->set_requested(e.requested);
    m->set_discovered_from(*e.from);
  }
  manifest->set_task_def_count(static_cast<int32_t>(discovery.task_defs.size()));
  manifest->set_workflow_def_count(static_cast<int32_t>(discovery.workflows.size()));
  manifest->set_event_handler_count(static_cast<int32_t>(discovery.event_handlers.size()));
  manifest->set_schedule_count(static_cast<int32_t>(discovery.schedules.size()));
  *p.mutable_dependencies() = discovery.report;

  if (header.options.include_secrets()) {
    for (const v1::Dependency& d : discovery.report.dependencies()) {
      if (d.kind() != v1::DEPENDENCY_KIND_SECRET) {
        continue;
      }
      auto it = header.secret_values.find(d.name());
      if (it == header.secret_values.end()) {
        built.warnings.push_back(absl::StrCat(
            "secret '", d.name(),
            "' is referenced but has no value in the source; configure it in the target by hand"));
        continue;
      }
      v1::SecretValue* s = p.add_secrets();
      s->set_name(it->first);
      s->set_value(it->second);
    }
  }
  p.set_contains_secret_values(p.secrets_size() > 0);
  p.set_digest(ComputePackageDigest(p));
  return built;
}

absl::StatusOr<std::string> PackageToJson(const v1::MigrationPackage& package, bool pretty) {
  return MessageToJson(package, pretty);
}

absl::StatusOr<v1::MigrationPackage> PackageFromJson(absl::string_view json) {
  v1::MigrationPackage p;
  if (absl::Status st = MessageFromJson(json, &p); !st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the migration package is not valid JSON of its format: ", st.message()));
  }
  return p;
}

absl::StatusOr<PackageContents> ValidatePackage(const v1::MigrationPackage& p) {
  std::vector<std::string> problems;
  if (p.format_version() < kOldestPackageFormatVersion ||
      p.format_version() > kPackageFormatVersion) {
    problems.push_back(absl::StrCat("format version ", p.format_version(),
                                    " is not known; this build reads format versions ",
                                    kOldestPackageFormatVersion, " to ", kPackageFormatVersion));
  }
  if (p.source_environment().empty()) {
    problems.push_back("the source environment is empty");
  }
  if (p.digest().empty()) {
    problems.push_back("the package digest is missing");
  } else if (std::string computed = ComputePackageDigest(p); computed != p.digest()) {
    problems.push_back(absl::StrCat("the package digest ", p.digest(),
                                    " does not match its content (computed ", computed, ")"));
  }
  if (!v1::ConflictStrategy_IsValid(p.options().conflict_strategy()) ||
      !v1::VersionStrategy_IsValid(p.options().version_strategy())) {
    problems.push_back("options hold an unknown conflict or version strategy");
  }

  // Each item's hash and parse depend on that item only: they run on every core first, and the
  // problems are collected in item order after.
  struct Checked {
    google::protobuf::Value extra;
    bool extra_not_object = false;
    bool hash_matches = false;
    absl::StatusOr<cp::TaskDef> task_def;
    absl::StatusOr<cp::WorkflowDef> workflow;
    absl::StatusOr<cp::EventHandler> handler;
    absl::StatusOr<v1::WorkflowSchedule> schedule;
  };
  std::vector<Checked> checked(p.items_size());
  ParallelFor(checked.size(), [&p, &checked](size_t i) {
    const v1::PackageItem& item = p.items(static_cast<int>(i));
    Checked& c = checked[i];
    std::string with_extras;
    if (!item.extra_json().empty()) {
      absl::StatusOr<google::protobuf::Value> e = ParseJson(item.extra_json());
      absl::StatusOr<google::protobuf::Value> canonical = ParseJson(item.canonical_json());
      if (!e.ok() || !e->has_struct_value()) {
        c.extra_not_object = true;
      } else if (canonical.ok()) {
        c.extra = *std::move(e);
        with_extras = ItemJsonWithExtras(*canonical, c.extra);
      }
    }
    c.hash_matches = item.sha256() ==
                     Sha256Hex(c.extra.has_struct_value() ? with_extras : item.canonical_json());
    switch (item.kind()) {
      case v1::ITEM_KIND_TASK_DEF:
        c.task_def = ParseTaskDef(item.canonical_json());
        break;
      case v1::ITEM_KIND_WORKFLOW_DEF:
        c.workflow = ParseWorkflowDef(item.canonical_json());
        break;
      case v1::ITEM_KIND_EVENT_HANDLER:
        c.handler = ParseEventHandler(item.canonical_json());
        break;
      case v1::ITEM_KIND_SCHEDULE:
        c.schedule = ParseScheduleDefinition(item.canonical_json());
        break;
      default:
        break;
    }
  });

  PackageContents contents;
  std::set<std::tuple<int, std::string, int32_t>> seen;
  for (int i = 0; i < p.items_size(); ++i) {
    Checked& c = checked[i];
    const v1::PackageItem& item = p.items(i);
    std::string what =
        absl::StrCat("item ", i, " (", DescribeItem(item.kind(), item.name(), item.version()), ")");
    if (item.name().empty()) {
      problems.push_back(absl::StrCat(what, " has no name"));
    }
    if (!seen.insert({item.kind(), item.name(), item.version()}).second) {
      problems.push_back(absl::StrCat(what, " appears more than once"));
    }
    if (c.extra_not_object) {
      problems.push_back(absl::StrCat(what, ": its extra keys are not a JSON object"));
    }
    if (!c.hash_matches) {
      problems.push_back(
          absl::StrCat(what, ": sha256 ", item.sha256(), " does not match its canonical JSON"));
    }
    switch (item.kind()) {
      case v1::ITEM_KIND_TASK_DEF: {
        if (item.version() != 0) {
          problems.push_back(
              absl::StrCat(what, ": a task definition has no version, found ", item.version()));
        }
        absl::StatusOr<cp::TaskDef>& def = c.task_def;
        if (!def.ok()) {
          problems.push_back(absl::StrCat(what, ": ", def.status().message()));
        } else if (def->name() != item.name()) {
          problems.push_back(
              absl::StrCat(what, ": its JSON names task definition '", def->name(), "'"));
        } else {
          contents.task_defs.push_back(*std::move(def));
          contents.task_def_items.push_back(i);
          contents.task_def_extras.push_back(std::move(c.extra));
        }
        break;
      }
      case v1::ITEM_KIND_WORKFLOW_DEF: {
        if (item.version() < 0) {
          problems.push_back(absl::StrCat(what, ": negative version"));
        }
        absl::StatusOr<cp::WorkflowDef>& def = c.workflow;
        if (!def.ok()) {
          problems.push_back(absl::StrCat(what, ": ", def.status().message()));
        } else if (def->name() != item.name() || def->version() != item.version()) {
          problems.push_back(
              absl::StrCat(what, ": its JSON is ", DescribeWorkflow(def->name(), def->version())));
        } else {
          contents.workflows.push_back(*std::move(def));
          contents.workflow_items.push_back(i);
          contents.workflow_extras.push_back(std::move(c.extra));
        }
        break;
      }
      case v1::ITEM_KIND_EVENT_HANDLER: {
        if (item.version() != 0) {
          problems.push_back(
              absl::StrCat(what, ": an event handler has no version, found ", item.version()));
        }
        absl::StatusOr<cp::EventHandler>& def = c.handler;
        if (!def.ok()) {
          problems.push_back(absl::StrCat(what, ": ", def.status().message()));
        } else if (def->name() != item.name()) {
          problems.push_back(
              absl::StrCat(what, ": its JSON names event handler '", def->name(), "'"));
        } else {
          contents.event_handlers.push_back(*std::move(def));
          contents.event_handler_items.push_back(i);
        }
        break;
      }
      case v1::ITEM_KIND_SCHEDULE: {
        if (item.version() != 0) {
          problems.push_back(
              absl::StrCat(what, ": a schedule has no version, found ", item.version()));
        }
        absl::StatusOr<v1::WorkflowSchedule>& def = c.schedule;
        if (!def.ok()) {
          problems.push_back(absl::StrCat(what, ": ", def.status().message()));
        } else if (def->name() != item.name()) {
          problems.push_back(absl::StrCat(what, ": its JSON names schedule '", def->name(), "'"));
        } else {
          contents.schedules.push_back(*std::move(def));
          contents.schedule_items.push_back(i);
        }
        break;
      }
      default:
        problems.push_back(absl::StrCat(what, " has no known kind"));
    }
  }

  const v1::Manifest& m = p.manifest();
  if (m.entries_size() != p.items_size()) {
    problems.push_back(absl::StrCat("the manifest lists ", m.entries_size(), " entries for ",
                                    p.items_size(), " items"));
  } else {
    for (int i = 0; i < m.entries_size(); ++i) {
      const v1::ManifestEntry& e = m.entries(i);
      const v1::PackageItem& item = p.items(i);
      if (e.kind() != item.kind() || e.name() != item.name() || e.version() != item.version() ||
          e.sha256() != item.sha256()) {
        problems.push_back(absl::StrCat("manifest entry ", i, " (",
                                        DescribeItem(e.kind(), e.name(), e.version()),
                                        ") does not match item ", i));
      }
    }
  }
  int workflows = 0, task_defs = 0, handlers = 0, schedules = 0;
  for (const auto& item : p.items()) {
    workflows += item.kind() == v1::ITEM_KIND_WORKFLOW_DEF;
    task_defs += item.kind() == v1::ITEM_KIND_TASK_DEF;
    handlers += item.kind() == v1::ITEM_KIND_EVENT_HANDLER;
    schedules += item.kind() == v1::ITEM_KIND_SCHEDULE;
  }
  if (m.schedule_count() != schedules) {
    problems.push_back(absl::StrCat("the manifest counts ", m.schedule_count(),
                                    " schedules, the items hold ", schedules));
  }
  if (m.workflow_def_count() != workflows || m.task_def_count() != task_defs ||
      m.event_handler_count() != handlers) {
    problems.push_back(absl::StrCat("the manifest counts ", m.workflow_def_count(), " workflows, ",
                                    m.task_def_count(), " task definitions and ",
                                    m.event_handler_count(), " event handlers, the items hold ",
                                    workflows, ", ", task_defs, " and ", handlers));
  }

  if (p.contains_secret_values() != (p.secrets_size() > 0)) {
    problems.push_back(p.contains_secret_values()
                           ? "the package says it carries secret values but holds none"
                           : "the package holds secret values without saying so at its top");
  }
  if (p.secrets_size() > 0 && !p.options().include_secrets()) {
    problems.push_back("the package holds secret values although include_secrets was not set");
  }
  std::set<std::string> secret_names;
  for (const v1::SecretValue& s : p.secrets()) {
    if (s.name().empty()) {
      problems.push_back("a secret value has no name");
    }
    if (!secret_names.insert(s.name()).second) {
      problems.push_back(absl::StrCat("secret '", s.name(), "' appears more than once"));
    }
  }

  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the migration package is invalid (", problems.size(),
        problems.size() == 1 ? " problem): " : " problems): ", absl::StrJoin(problems, "; ")));
  }
  return contents;
}

std::string ItemJsonWithExtras(const google::protobuf::Value& canonical,
                               const google::protobuf::Value& extra) {
  google::protobuf::Value merged = canonical;
  AddMissingKeys(extra, &merged);
  return CanonicalJson(merged);
}

}  // namespace cmig::migration
