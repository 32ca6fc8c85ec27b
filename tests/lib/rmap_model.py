"""What thin_rmap prints for a pool whose mappings are known, listing every
device that maps a block (as our thin_rmap does)."""


def rmap_lines(model, regions):
    """model: {device: {vblock: data block}}; regions: [(begin, end)].
    Runs of one device's consecutive virtual and data blocks, sorted by data
    block, then device, then virtual block."""
    runs = []
    for dev in sorted(model):
        cur = None
        for v in sorted(model[dev]):
            d = model[dev][v]
            if not any(b <= d < e for b, e in regions):
                continue
            if cur and d == cur[1] and v == cur[3] + (cur[1] - cur[0]):
                cur[1] += 1
                continue
            if cur:
                runs.append(cur)
            cur = [d, d + 1, dev, v]
        if cur:
            runs.append(cur)
    runs.sort(key=lambda r: (r[0], r[2], r[3]))
    return [f"data {a}..{b} -> thin({dev}) {v}..{v + b - a}" for a, b, dev, v in runs]
