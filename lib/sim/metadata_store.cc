#include "sim/metadata_store.h"

namespace thinmeta::sim {

namespace {

std::unique_ptr<io::block_device> open_image(const std::string& path, bool writable)
{
	return std::make_unique<io::block_device>(
	    io::block_device::open(path, writable ? io::access::read_write : io::access::read_only));
}

}

metadata_store::metadata_store(const std::string& path, bool writable)
    : path_(path), writable_(writable), device_(open_image(path, writable))
{
}

void metadata_store::read_range(block_address first, uint64_t count, uint8_t* out) const
{
	device_->read_range(first, count, out);
}

void metadata_store::write_range(block_address first, uint64_t count, const uint8_t* data)
{
	device_->write_range(first, count, data);
}

void metadata_store::reopen()
{
	device_ = open_image(path_, writable_);
}

}
