// Generated workloads for a simulated pool: random and sequential writes
// over thin volumes, a snapshot every N writes (the oldest deleted beyond
// a limit), writes to snapshots, discards, flushes, a metadata snapshot
// held from halfway -- all as script lines that go through the script
// runner (so a workload can be saved and run again as a script). Seeded:
// the same options give the same operations. Meant to fill large metadata
// quickly (many snapshots sharing leaves, fragmented volumes); with data
// I/O off it never touches the data image.
#pragma once

#include <cstdint>
#include <ostream>

#include "base/progress.h"
#include "sim/pool_session.h"
#include "sim/script_runner.h"

namespace thinmeta::sim {

struct workload_options {
	uint64_t seed = 1;
	uint64_t volumes = 1;          // thin volumes created (ids 0..volumes-1), written most
	uint64_t span = 0;             // virtual blocks written per volume (0: the data blocks / (volumes + 1))
	uint64_t writes = 0;           // writes to do (0: until the metadata target or the data runs short)
	uint64_t write_blocks = 1;     // blocks per write
	unsigned sequential_percent = 0;  // writes that continue where the volume's last one ended
	uint64_t snapshot_every = 0;   // writes between snapshots of a volume (0: none)
	uint64_t max_snapshots = 0;    // the oldest snapshot is deleted beyond this many (0: no limit)
	unsigned snapshot_write_percent = 0;  // writes that go to a snapshot rather than a volume
	uint64_t discard_every = 0;    // writes between discards (0: none)
	uint64_t flush_every = 128;    // writes between flushes (each flush commits)
	unsigned metadata_target_percent = 0;  // stop when this much of the metadata is used (0: none)
	bool metadata_snap = true;     // reserve a metadata snapshot halfway and hold it
};

struct workload_result {
	run_summary summary;
	uint64_t writes = 0;
	const char* stopped_by = "";  // what ended it
};

// Runs the workload on the pool `setup` describes; the runner prints its
// error lines (none are expected) to `out`, and every line goes to
// `script_out` when given.
workload_result run_workload(const pool_setup& setup, const workload_options& options, std::ostream& out,
                             std::ostream* script_out, progress_sink& progress);

}
