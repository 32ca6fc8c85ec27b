// thin_dump's operation: print a pool's metadata (or its metadata snapshot)
// as XML or human-readable text, all devices or a chosen few, with or
// without their mappings, streaming leaf by leaf.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string_view>
#include <vector>

#include "ops/dump_emitter.h"
#include "ops/dump_source.h"
#include "thin/metadata_reader.h"

namespace thinmeta::ops {

enum class dump_format { xml, human_readable };

// "xml" or "human_readable"; anything else is an error naming the choices.
dump_format parse_dump_format(std::string_view name);

std::unique_ptr<dump_emitter> make_dump_emitter(dump_format format, std::ostream& out);

// What of the pool a dump prints.
struct dump_selection {
	// Only these devices (in ascending order, each once); empty means all.
	// Asking for a device the pool does not hold is an error.
	std::vector<uint64_t> dev_ids;
	// Print the devices' details but none of their mappings.
	bool skip_mappings = false;
};

struct dump_options {
	thin::read_request input;
	dump_format format = dump_format::xml;
	dump_selection selection;
};

// The devices of `source` that `selection` names, in ascending id order;
// throws when one of them does not exist.
std::vector<thin::thin_device> select_devices(dump_source& source, const dump_selection& selection);

// Streams the pool header and the chosen devices of `source` through
// `emitter`. Damage found on the way stops the dump with an error after the
// text emitted so far.
void dump(dump_source& source, const std::vector<thin::thin_device>& devices, bool skip_mappings,
          dump_emitter& emitter);
void dump(dump_source& source, const dump_selection& selection, dump_emitter& emitter);

// Opens the metadata and chooses the devices, then calls open_output for the
// stream to print to, so an output file is not created or emptied when the
// input cannot be read.
void dump_metadata(const dump_options& options, const std::function<std::ostream&()>& open_output);
void dump_metadata(const dump_options& options, std::ostream& out);

}
