"""Snapshots with shared subtrees, made by copy-on-write at the block level.

0.9.0's thin_restore gives every device a tree of its own; the kernel's
snapshots share subtrees. This edits an image thin_restore made so that it
looks like the kernel's: a snapshot takes its origin's root, and writes to
one device copy the nodes on the path to the leaf they change (never a node
the other device still reaches), as dm-thin's shadowing does. It can also
put a one-child root on top of a tree, so two trees that share leaves have
different heights.

A metadata snapshot can be reserved as the kernel reserves it. Only the
mapping trees and device details are kept right: the space maps
are not updated, so thin_check reports the image, but thin_delta, thin_ls,
thin_rmap and thin_dump read it as the kernel's metadata would read.
"""

import mmap
import struct

from metadata_image import BLOCK, SALT_NODE, SALT_SUPERBLOCK, crc32c_raw

LEAF, INTERNAL = 2, 1


class Image:
    """A metadata image file opened for editing in place."""

    def __init__(self, path):
        self._f = open(path, "r+b")
        self.m = mmap.mmap(self._f.fileno(), 0)
        self.nr_blocks = len(self.m) // BLOCK
        self.dirty = set()
        self.superblocks_dirty = set()
        self.owned = {}  # device id -> blocks written for it alone
        self.frozen = set()  # device tree leaves a metadata snapshot still holds
        used = self.nr_blocks
        zero = bytes(BLOCK)
        while used > 0 and self.m[(used - 1) * BLOCK:used * BLOCK] == zero:
            used -= 1
        self.next_free = used

    def close(self):
        for blocks, salt in ((self.dirty, SALT_NODE), (self.superblocks_dirty, SALT_SUPERBLOCK)):
            for b in sorted(blocks):
                off = b * BLOCK
                struct.pack_into("<I", self.m, off, crc32c_raw(self.m[off + 4:off + BLOCK]) ^ salt)
            blocks.clear()
        self.m.flush()
        self.m.close()
        self._f.close()

    # --- raw node access
    def u32(self, b, off):
        return struct.unpack_from("<I", self.m, b * BLOCK + off)[0]

    def u64(self, b, off):
        return struct.unpack_from("<Q", self.m, b * BLOCK + off)[0]

    def set_u32(self, b, off, v):
        struct.pack_into("<I", self.m, b * BLOCK + off, v)
        self.dirty.add(b)

    def set_u64(self, b, off, v):
        struct.pack_into("<Q", self.m, b * BLOCK + off, v)
        self.dirty.add(b)

    def flags(self, b):
        return self.u32(b, 4)

    def nr(self, b):
        return self.u32(b, 16)

    def max_entries(self, b):
        return self.u32(b, 20)

    def value_size(self, b):
        return self.u32(b, 24)

    def key(self, b, i):
        return self.u64(b, 32 + 8 * i)

    def value_off(self, b, i):
        return 32 + 8 * self.max_entries(b) + self.value_size(b) * i

    def value64(self, b, i):
        return self.u64(b, self.value_off(b, i))

    def set_value64(self, b, i, v):
        self.set_u64(b, self.value_off(b, i), v)

    def lower_bound(self, b, k):
        """The last index whose key is <= k, or -1."""
        lo, hi = -1, self.nr(b)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.key(b, mid) <= k:
                lo = mid
            else:
                hi = mid
        return lo

    def allocate(self):
        b = self.next_free
        if b >= self.nr_blocks:
            raise RuntimeError("the image has no free blocks left: make it larger")
        self.next_free += 1
        return b

    def copy_node(self, b):
        n = self.allocate()
        self.m[n * BLOCK:(n + 1) * BLOCK] = self.m[b * BLOCK:(b + 1) * BLOCK]
        self.set_u64(n, 8, n)
        return n

    # --- the superblock's two device trees (single leaves in small pools)
    def _tree_leaf(self, root, key):
        b = root
        while self.flags(b) & INTERNAL:
            b = self.value64(b, self.lower_bound(b, key))
        i = self.lower_bound(b, key)
        if i < 0 or self.key(b, i) != key:
            raise KeyError(key)
        return b, i

    def top_leaf(self, dev_id, writable=False):
        return self._device_tree_leaf(320, dev_id, writable)

    def details_leaf(self, dev_id, writable=False):
        return self._device_tree_leaf(328, dev_id, writable)

    def _device_tree_leaf(self, sb_offset, dev_id, writable):
        b, i = self._tree_leaf(self.u64(0, sb_offset), dev_id)
        if writable and b in self.frozen:
            if b != self.u64(0, sb_offset):
                raise ValueError("copying a device tree of more than one node is not supported")
            b = self.copy_node(b)
            struct.pack_into("<Q", self.m, sb_offset, b)
            self.superblocks_dirty.add(0)
        return b, i

    def root_of(self, dev_id):
        b, i = self.top_leaf(dev_id)
        return self.value64(b, i)

    def set_root(self, dev_id, root):
        b, i = self.top_leaf(dev_id, writable=True)
        self.set_value64(b, i, root)

    def mapped_blocks(self, dev_id):
        b, i = self.details_leaf(dev_id)
        return self.u64(b, self.value_off(b, i))

    def set_details(self, dev_id, mapped=None, snap_time=None, creation_time=None):
        b, i = self.details_leaf(dev_id, writable=True)
        off = self.value_off(b, i)
        if mapped is not None:
            self.set_u64(b, off, mapped)
        if creation_time is not None:
            self.set_u32(b, off + 16, creation_time)
        if snap_time is not None:
            self.set_u32(b, off + 20, snap_time)

    # --- thin operations
    def snapshot(self, origin, snap, time=1):
        """`snap` (created empty by thin_restore) takes `origin`'s tree."""
        self.set_root(snap, self.root_of(origin))
        self.set_details(snap, mapped=self.mapped_blocks(origin), creation_time=time, snap_time=time)
        self.set_details(origin, snap_time=time)
        self.owned[origin] = set()
        self.owned[snap] = set()

    def _shadow_path(self, dev_id, vblock):
        """Copies the nodes on the path to vblock's leaf that dev_id does not
        own; returns (leaf, index of the last key <= vblock)."""
        owned = self.owned.setdefault(dev_id, set())
        b = self.root_of(dev_id)
        if b not in owned:
            b = self.copy_node(b)
            owned.add(b)
            self.set_root(dev_id, b)
        while self.flags(b) & INTERNAL:
            i = max(self.lower_bound(b, vblock), 0)
            c = self.value64(b, i)
            if c not in owned:
                c = self.copy_node(c)
                owned.add(c)
                self.set_value64(b, i, c)
            b = c
        return b, self.lower_bound(b, vblock)

    def overwrite(self, dev_id, vblock, data_block, time=1):
        """Maps an already mapped vblock to a new data block."""
        leaf, i = self._shadow_path(dev_id, vblock)
        if i < 0 or self.key(leaf, i) != vblock:
            raise KeyError(f"device {dev_id} does not map block {vblock}")
        self.set_value64(leaf, i, (data_block << 24) | time)

    def remove(self, dev_id, vblock):
        """Unmaps vblock (the leaf keeps at least one entry; no rebalancing)."""
        leaf, i = self._shadow_path(dev_id, vblock)
        n = self.nr(leaf)
        if i < 0 or self.key(leaf, i) != vblock:
            raise KeyError(f"device {dev_id} does not map block {vblock}")
        if n == 1:
            raise ValueError("removing the last entry of a leaf is not supported")
        base = leaf * BLOCK
        ko, vo = base + 32, base + self.value_off(leaf, 0)
        self.m[ko + 8 * i:ko + 8 * (n - 1)] = self.m[ko + 8 * (i + 1):ko + 8 * n]
        self.m[vo + 8 * i:vo + 8 * (n - 1)] = self.m[vo + 8 * (i + 1):vo + 8 * n]
        self.set_u32(leaf, 16, n - 1)
        self.set_details(dev_id, mapped=self.mapped_blocks(dev_id) - 1)

    def reserve_metadata_snap(self):
        """Copies the superblock as the pool message reserve_metadata_snap
        does (its own location, space-map roots zeroed) and holds it from
        the live superblock; returns its block. Later changes copy every
        node they touch, so the copy's trees stay as they are."""
        s = self.allocate()
        self.m[s * BLOCK:(s + 1) * BLOCK] = self.m[0:BLOCK]
        struct.pack_into("<Q", self.m, s * BLOCK + 8, s)
        self.m[s * BLOCK + 64:s * BLOCK + 320] = bytes(256)
        struct.pack_into("<Q", self.m, 56, s)
        self.superblocks_dirty.update((0, s))
        for owned in self.owned.values():
            owned.clear()
        self.frozen.update((self.u64(0, 320), self.u64(0, 328)))
        return s

    def deepen(self, dev_id):
        """Puts a new internal root with a single child, the old root, on
        top of the device's tree: one level taller, the same mappings. The
        old root must be at least a third full, as non-root nodes are."""
        old = self.root_of(dev_id)
        if self.nr(old) < self.max_entries(old) // 3:
            raise ValueError("the root is too small to become an inner node (readers check occupancy)")
        n = self.allocate()
        self.m[n * BLOCK:(n + 1) * BLOCK] = bytes(BLOCK)
        self.set_u32(n, 4, INTERNAL)
        self.set_u64(n, 8, n)
        self.set_u32(n, 16, 1)
        self.set_u32(n, 20, 252)
        self.set_u32(n, 24, 8)
        self.set_u64(n, 32, self.key(old, 0) if self.nr(old) else 0)
        self.set_value64(n, 0, old)
        self.owned.setdefault(dev_id, set()).add(n)
        self.set_root(dev_id, n)
