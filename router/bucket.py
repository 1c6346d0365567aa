"""Sticky canary bucketing, bit-for-bit the same as nginx's `split_clients`.

nginx hashes the key with MurmurHash2 (seed 0) and sends the request to the first part
whose cumulative boundary `percent * 100 * 0xffffffff / 10000` exceeds the hash. Using
the same function here means a user lands on the same side through the mitmproxy data
plane and through an exported nginx config.
"""

from __future__ import annotations

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Return nginx's ngx_murmur_hash2 of data."""
    length = len(data)
    h = length & _MASK
    i = 0
    while length - i >= 4:
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
        i += 4
    rest = length - i
    if rest == 3:
        h ^= data[i + 2] << 16
    if rest >= 2:
        h ^= data[i + 1] << 8
    if rest >= 1:
        h ^= data[i]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def boundary(percent: float) -> int:
    """Return the hash boundary below which a key is in the first `percent` part."""
    hundredths = round(percent * 100)
    return hundredths * 0xFFFFFFFF // 10000


def in_canary(key: str, percent: float) -> bool:
    """Tell whether the sticky key falls in the canary share."""
    if percent <= 0:
        return False
    if percent >= 100:
        return True
    return murmur2(key.encode("utf-8")) < boundary(percent)
