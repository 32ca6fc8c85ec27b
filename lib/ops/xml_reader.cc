#include "ops/xml_reader.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <expat.h>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "base/text.h"
#include "ops/restore_event_queue.h"

namespace thinmeta::ops {

namespace {

constexpr size_t read_size = 1 << 20;

enum class element { superblock, def, device, single_mapping, range_mapping, ref };

// The attributes of one element, matched against the names it may have.
template <size_t N>
struct attributes {
	attributes(const char* elem, const XML_Char** atts, const std::array<const char*, N>& names)
	{
		values.fill(nullptr);
		for (size_t i = 0; atts[i]; i += 2) {
			size_t k = 0;
			while (k < N && std::strcmp(names[k], atts[i]) != 0)
				++k;
			if (k == N)
				throw bad_input(cat("<", elem, "> has an unknown attribute ", atts[i]));
			values[k] = atts[i + 1];
		}
	}

	std::array<const char*, N> values;
};

const char* required(const char* elem, const char* name, const char* value)
{
	if (!value)
		throw bad_input(cat("<", elem, "> lacks the attribute ", name));
	return value;
}

uint64_t number(const char* elem, const char* name, const char* value,
                uint64_t max = std::numeric_limits<uint64_t>::max())
{
	const char* t = required(elem, name, value);
	size_t len = std::strlen(t);
	uint64_t v = 0;
	auto r = std::from_chars(t, t + len, v);
	if (len == 0 || r.ec != std::errc() || r.ptr != t + len || v > max)
		throw bad_input(cat("<", elem, "> attribute ", name, "=\"", t, "\" is not a whole number from 0 to ", max));
	return v;
}

uint32_t number32(const char* elem, const char* name, const char* value)
{
	return static_cast<uint32_t>(number(elem, name, value, std::numeric_limits<uint32_t>::max()));
}

const char* element_name(element e)
{
	switch (e) {
	case element::superblock:
		return "superblock";
	case element::def:
		return "def";
	case element::device:
		return "device";
	case element::single_mapping:
		return "single_mapping";
	case element::range_mapping:
		return "range_mapping";
	case element::ref:
		return "ref";
	}
	return "?";
}

}

struct xml_reader::parser {
	parser(std::string p, restore_events& e, progress_sink& pr) : path(std::move(p)), target(e), progress(pr) {}
	~parser()
	{
		if (xp)
			XML_ParserFree(xp);
	}

	std::string path;
	restore_events& target;  // where the consumer replays the events
	progress_sink& progress;

	// The producer's side: the parser and what it has reached.
	XML_Parser xp = nullptr;
	restore_events* events = nullptr;  // records into the queue
	std::vector<element> open;
	bool seen_superblock = false;
	std::exception_ptr failure;
	input_place parse_at;
	uint64_t input_done = 0;

	// The consumer's side: the place of the event being handled.
	input_place replay_at;

	void produce(int fd, restore_event_queue& queue);
	std::string place(const input_place& at) const { return cat(path, ":", at.line, ":", at.column, ": "); }

	void start(const char* name, const XML_Char** atts);
	void end();
	void text(const char* s, int len);

	void require_parent(const char* name, std::initializer_list<element> allowed)
	{
		if (open.empty())
			throw bad_input(cat("<", name, "> must be inside <superblock>"));
		for (element e : allowed)
			if (open.back() == e)
				return;
		throw bad_input(cat("<", name, "> cannot be inside <", element_name(open.back()), ">"));
	}

	template <typename Fn>
	void guarded(Fn&& fn)
	{
		if (failure)
			return;
		try {
			fn();
		} catch (...) {
			failure = std::current_exception();
			XML_StopParser(xp, XML_FALSE);
		}
	}

	void locate()
	{
		parse_at.line = XML_GetCurrentLineNumber(xp);
		parse_at.column = XML_GetCurrentColumnNumber(xp) + 1;
	}

	static void XMLCALL on_start(void* self, const XML_Char* name, const XML_Char** atts)
	{
		auto* p = static_cast<parser*>(self);
		p->guarded([&] {
			p->locate();
			p->start(name, atts);
		});
	}
	static void XMLCALL on_end(void* self, const XML_Char*)
	{
		auto* p = static_cast<parser*>(self);
		p->guarded([&] {
			p->locate();
			p->end();
		});
	}
	static void XMLCALL on_text(void* self, const XML_Char* s, int len)
	{
		auto* p = static_cast<parser*>(self);
		p->guarded([&] { p->text(s, len); });
	}
	static void XMLCALL on_doctype(void* self, const XML_Char*, const XML_Char*, const XML_Char*, int)
	{
		auto* p = static_cast<parser*>(self);
		p->guarded([&] {
			p->locate();
			throw bad_input("DOCTYPE declarations are not accepted");
		});
	}
};

void xml_reader::parser::start(const char* name, const XML_Char** atts)
{
	if (!open.empty() && open.back() != element::superblock && open.back() != element::def &&
	    open.back() != element::device)
		throw bad_input(cat("<", name, "> cannot be inside <", element_name(open.back()), ">"));
	if (std::strcmp(name, "single_mapping") == 0) {
		require_parent(name, {element::device, element::def});
		attributes<3> a(name, atts, {"origin_block", "data_block", "time"});
		mapping_event m;
		m.origin_begin = number(name, "origin_block", a.values[0]);
		m.data_begin = number(name, "data_block", a.values[1]);
		m.time = number32(name, "time", a.values[2]);
		m.length = 1;
		open.push_back(element::single_mapping);
		events->mapping(m);
	} else if (std::strcmp(name, "range_mapping") == 0) {
		require_parent(name, {element::device, element::def});
		attributes<4> a(name, atts, {"origin_begin", "data_begin", "length", "time"});
		mapping_event m;
		m.origin_begin = number(name, "origin_begin", a.values[0]);
		m.data_begin = number(name, "data_begin", a.values[1]);
		m.length = number(name, "length", a.values[2]);
		m.time = number32(name, "time", a.values[3]);
		open.push_back(element::range_mapping);
		events->mapping(m);
	} else if (std::strcmp(name, "device") == 0) {
		require_parent(name, {element::superblock});
		attributes<5> a(name, atts, {"dev_id", "mapped_blocks", "transaction", "creation_time", "snap_time"});
		device_event d;
		d.dev_id = number32(name, "dev_id", a.values[0]);
		if (a.values[1])
			d.mapped_blocks = number(name, "mapped_blocks", a.values[1]);
		d.transaction = number(name, "transaction", a.values[2]);
		d.creation_time = number32(name, "creation_time", a.values[3]);
		d.snap_time = number32(name, "snap_time", a.values[4]);
		open.push_back(element::device);
		events->begin_device(d);
	} else if (std::strcmp(name, "ref") == 0) {
		require_parent(name, {element::device, element::def});
		attributes<1> a(name, atts, {"name"});
		open.push_back(element::ref);
		events->ref(required(name, "name", a.values[0]));
	} else if (std::strcmp(name, "def") == 0) {
		require_parent(name, {element::superblock});
		attributes<1> a(name, atts, {"name"});
		open.push_back(element::def);
		events->begin_def(required(name, "name", a.values[0]));
	} else if (std::strcmp(name, "superblock") == 0) {
		if (!open.empty() || seen_superblock)
			throw bad_input("<superblock> must be the one outermost element");
		attributes<8> a(name, atts,
		                {"uuid", "time", "transaction", "flags", "version", "data_block_size", "nr_data_blocks",
		                 "metadata_snap"});
		superblock_event sb;
		if (a.values[0])
			sb.uuid = required(name, "uuid", a.values[0]);
		sb.time = number32(name, "time", a.values[1]);
		sb.transaction = number(name, "transaction", a.values[2]);
		if (a.values[3])
			sb.flags = number32(name, "flags", a.values[3]);
		if (a.values[4])
			sb.version = number32(name, "version", a.values[4]);
		sb.data_block_size = number32(name, "data_block_size", a.values[5]);
		sb.nr_data_blocks = number(name, "nr_data_blocks", a.values[6]);
		if (a.values[7])
			sb.metadata_snap = number(name, "metadata_snap", a.values[7]);
		open.push_back(element::superblock);
		seen_superblock = true;
		events->begin_superblock(sb);
	} else {
		throw bad_input(cat("unknown element <", name, ">"));
	}
}

void xml_reader::parser::end()
{
	element e = open.back();
	open.pop_back();
	switch (e) {
	case element::superblock:
		events->end_superblock();
		break;
	case element::def:
		events->end_def();
		break;
	case element::device:
		events->end_device();
		break;
	case element::single_mapping:
	case element::range_mapping:
	case element::ref:
		break;
	}
}

void xml_reader::parser::text(const char* s, int len)
{
	for (int i = 0; i < len; ++i) {
		if (!std::isspace(static_cast<unsigned char>(s[i]))) {
			locate();
			throw bad_input("text is not expected here: the format holds only elements and attributes");
		}
	}
}

void xml_reader::parser::produce(int fd, restore_event_queue& queue)
{
	event_recorder recorder(queue, parse_at, input_done);
	events = &recorder;
	try {
		xp = XML_ParserCreate(nullptr);
		if (!xp)
			throw std::bad_alloc();
		XML_SetUserData(xp, this);
		XML_SetElementHandler(xp, on_start, on_end);
		XML_SetCharacterDataHandler(xp, on_text);
		XML_SetStartDoctypeDeclHandler(xp, on_doctype);
		for (;;) {
			void* buf = XML_GetBuffer(xp, read_size);
			if (!buf)
				throw std::bad_alloc();
			ssize_t n = ::read(fd, buf, read_size);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				throw io_error(cat(path, ": read failed"), errno);
			}
			bool last = n == 0;
			if (XML_ParseBuffer(xp, static_cast<int>(n), last) != XML_STATUS_OK) {
				if (failure) {
					try {
						std::rethrow_exception(failure);
					} catch (const bad_input& e) {
						throw bad_input(place(parse_at) + e.what());
					}
				}
				throw bad_input(cat(path, ":", XML_GetErrorLineNumber(xp), ":", XML_GetErrorColumnNumber(xp) + 1,
				                    ": ", XML_ErrorString(XML_GetErrorCode(xp))));
			}
			input_done += static_cast<uint64_t>(n);
			if (last)
				break;
		}
		if (!seen_superblock)
			throw bad_input(cat(path, ": no <superblock> element"));
		queue.current().input_done = input_done;
		queue.close();
	} catch (const event_queue_stopped&) {
		queue.close();
	} catch (...) {
		queue.close(std::current_exception());
	}
}

xml_reader::xml_reader(std::string path, restore_events& events, progress_sink& progress)
    : p_(std::make_unique<parser>(std::move(path), events, progress))
{
}

xml_reader::~xml_reader() = default;

const std::string& xml_reader::path() const
{
	return p_->path;
}

xml_position xml_reader::position() const
{
	return {p_->replay_at.line, p_->replay_at.column};
}

std::string xml_reader::place() const
{
	return p_->place(p_->replay_at);
}

void xml_reader::read()
{
	parser& p = *p_;
	int fd = ::open(p.path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		throw io_error(p.path, errno);
	struct stat st;
	uint64_t total = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
	::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

	// The XML is parsed on a thread of its own while the events are turned
	// into metadata here.
	restore_event_queue queue;
	std::thread producer([&] { p.produce(fd, queue); });
	struct finisher {
		restore_event_queue& queue;
		std::thread& producer;
		int fd;
		~finisher()
		{
			queue.stop();
			producer.join();
			::close(fd);
		}
	} finish{queue, producer, fd};

	uint64_t done = 0;
	while (const event_batch* batch = queue.next()) {
		try {
			batch->replay(p.target, p.replay_at);
		} catch (const bad_input& e) {
			throw bad_input(place() + e.what());
		}
		done = std::max(done, batch->input_done);
		p.progress.update("restoring", done, std::max(total, done));
		queue.done(batch);
	}
	if (queue.failure())
		std::rethrow_exception(queue.failure());
}

}
