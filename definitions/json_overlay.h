// The keys one JSON document has that another lacks, kept apart and put back later: how a
// definition keeps, through a store that holds it as a message, the keys the message cannot
// carry (a conductor-oss `onStateChange`, Orkes' `tags`).
//
//   Value converted = WorkflowDefToValue(def);              // what the message carries
//   Value extra = KeysMissingFrom(original, converted);     // the rest, same shape, sparse
//   ...
//   AddMissingKeys(extra, &converted);                      // the original's keys again
//
// Objects are compared key by key, lists element by element when both have the same length
// (a list of another length is taken as converted). Null members count as absent. Pure.
#ifndef CMIG_DEFINITIONS_JSON_OVERLAY_H_
#define CMIG_DEFINITIONS_JSON_OVERLAY_H_

#include <string>
#include <vector>

#include "google/protobuf/struct.pb.h"

namespace cmig {

// The members of `original` that `converted` lacks, at any depth, in `original`'s shape: an
// object holding only what is missing (and the path to it), or null when nothing is.
google::protobuf::Value KeysMissingFrom(const google::protobuf::Value& original,
                                        const google::protobuf::Value& converted);

// Puts the members of `extra` (as KeysMissingFrom made it) into `target` where `target` lacks
// them. A member `target` already has is left as it is.
void AddMissingKeys(const google::protobuf::Value& extra, google::protobuf::Value* target);

// Where the members of `extra` are that `target` lacks, as JSON paths ("$.tasks[0].onStateChange",
// definitions/json.h's notation), in key order, depth first: what AddMissingKeys would add.
std::vector<std::string> MissingKeyPaths(const google::protobuf::Value& extra,
                                         const google::protobuf::Value& target);

}  // namespace cmig

#endif  // CMIG_DEFINITIONS_JSON_OVERLAY_H_
