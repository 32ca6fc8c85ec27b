#include "sim/pool_commands.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/text.h"
#include "sim/sha256.h"

namespace thinmeta::sim {

namespace {

// I/O moves in pieces of this size, as dd's blocks would.
constexpr uint64_t io_chunk = 8 << 20;

class file_source final : public data_source {
public:
	explicit file_source(const std::string& path) : path_(path), in_(path, std::ios::binary)
	{
		if (!in_)
			throw io_error(path, errno);
	}
	void bytes(uint64_t position, uint64_t length, uint8_t* out) override
	{
		in_.seekg(static_cast<std::streamoff>(position));
		in_.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(length));
		if (static_cast<uint64_t>(in_.gcount()) != length)
			throw error(cat(path_, ": short read at byte ", position));
	}

private:
	std::string path_;
	std::ifstream in_;
};

class digest_sink final : public data_sink {
public:
	void take(const uint8_t* data, uint64_t length) override { digest.update(data, length); }
	sha256 digest;
};

class file_sink final : public data_sink {
public:
	explicit file_sink(const std::string& path) : path_(path), out_(path, std::ios::binary | std::ios::trunc)
	{
		if (!out_)
			throw io_error(path, errno);
	}
	void take(const uint8_t* data, uint64_t length) override
	{
		out_.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(length));
		if (!out_)
			throw error(cat(path_, ": write failed"));
	}
	void close()
	{
		out_.close();
		if (!out_)
			throw error(cat(path_, ": write failed"));
	}

private:
	std::string path_;
	std::ofstream out_;
};

// Runs fn on the pool with `dev` active, then closes the pool.
template <typename Fn>
void with_device(const pool_setup& setup, uint64_t dev, Fn&& fn)
{
	pool_session session(setup);
	session.pool().activate(dev, session.origin_for(dev));
	fn(session.pool());
	session.pool().close();
}

void write_in_chunks(thin_pool& pool, uint64_t dev, uint64_t offset, uint64_t length, data_source& source)
{
	// Each chunk sees positions from its own start.
	class shifted final : public data_source {
	public:
		shifted(data_source& s, uint64_t base) : s_(s), base_(base) {}
		void bytes(uint64_t position, uint64_t n, uint8_t* out) override { s_.bytes(base_ + position, n, out); }

	private:
		data_source& s_;
		uint64_t base_;
	};
	for (uint64_t done = 0; done < length;) {
		uint64_t n = std::min(io_chunk, length - done);
		shifted part(source, done);
		pool.write(dev, offset + done, n, part);
		done += n;
	}
}

}

void prepare_image(const std::string& path, uint64_t size)
{
	int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		throw io_error(path, errno);
	struct stat st;
	int r = ::fstat(fd, &st);
	if (r == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) < size)
		r = ::ftruncate(fd, static_cast<off_t>(size));
	int err = errno;
	::close(fd);
	if (r < 0)
		throw io_error(cat(path, ": cannot set the size to ", size, " bytes"), err);
}

void create_pool(const pool_setup& setup)
{
	pool_session session(setup);
	session.pool().close();
}

void send_message(const pool_setup& setup, std::string_view text)
{
	pool_session session(setup);
	session.pool().message(text);
	session.pool().close();
}

pool_status pool_status_of(const pool_setup& setup)
{
	pool_session session(setup);
	pool_status s = session.pool().status();
	session.pool().close();
	return s;
}

void write_pattern(const pool_setup& setup, uint64_t dev, uint64_t offset, uint64_t length, uint8_t byte)
{
	fill_source fill(byte);
	with_device(setup, dev, [&](thin_pool& pool) { write_in_chunks(pool, dev, offset, length, fill); });
}

void write_file(const pool_setup& setup, uint64_t dev, uint64_t offset, const std::string& path)
{
	struct stat st;
	if (::stat(path.c_str(), &st) < 0)
		throw io_error(path, errno);
	uint64_t length = static_cast<uint64_t>(st.st_size);
	if (length % 512)
		throw error(cat(path, ": its size (", length, " bytes) is not a multiple of 512"));
	file_source source(path);
	with_device(setup, dev, [&](thin_pool& pool) { write_in_chunks(pool, dev, offset, length, source); });
}

std::string read_digest(const pool_setup& setup, uint64_t dev, uint64_t offset, uint64_t length)
{
	digest_sink sink;
	with_device(setup, dev, [&](thin_pool& pool) { pool.read(dev, offset, length, sink); });
	return sink.digest.finish_hex();
}

void read_to_file(const pool_setup& setup, uint64_t dev, uint64_t offset, uint64_t length, const std::string& path)
{
	file_sink sink(path);
	with_device(setup, dev, [&](thin_pool& pool) { pool.read(dev, offset, length, sink); });
	sink.close();
}

void discard_range(const pool_setup& setup, uint64_t dev, uint64_t offset, uint64_t length)
{
	with_device(setup, dev, [&](thin_pool& pool) { pool.discard(dev, offset, length); });
}

}
