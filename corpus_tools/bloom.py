"""A Bloom filter over 128-bit hashes, vectorised with NumPy, saved as a self-describing file.

Sizing (GPT-2 §4 bounds the false-positive rate by 1e-8)::

    m = ceil(-capacity · ln(fpr) / (ln 2)²)  rounded up to a multiple of 64 bits
    k = round(log2(1 / fpr))                  (27 at 1e-8; 38.34 bits per item)

and at least ``sqrt(4 · capacity / fpr)`` bits, the size at which double hashing's own floor
(about 3·n/m², :data:`PAIR_FLOOR`) stays below ``fpr``: it matters for filters of fewer than
about 270k items at 1e-8 (a few thousand documents), where it costs a few hundred KiB at most.

Probing (double hashing): a key's 128-bit hash is ``(h1, h2)``; with ``a`` the low and
``b`` the high 32 bits of ``h1`` (``b`` forced odd), probe ``i = 0 … k-1`` is bit
``((a + i·b) mod 2**32) · m >> 32`` (Lemire's multiply-shift range reduction, no
division). One filter therefore has at most 2**32 bits (512 MiB, 112 M items at 1e-8);
larger sets are split into partitions by ``h2`` (see :class:`PartitionedBloom`).
Bit ``j`` is bit ``j % 8`` (least significant first) of byte ``j // 8``.

File format (``*.bloom``)::

    b"WTBLOOM\\0"  | u32 version (1) | u32 header length | header (UTF-8 JSON, sorted keys)
    | m/8 bytes of bits | 2**hll_p bytes of HyperLogLog registers (if hll_p)
    | 16-byte xxh3_128 digest of everything before it

The header holds ``m``, ``k``, ``hash_id``, ``probe_id``, ``n_inserted``, ``capacity``,
``fpr``, ``hll_p`` and free-form ``meta``. Loading checks magic, version, checksum,
sizes and (when asked) the hash id, and refuses with :class:`BloomFileError` otherwise.
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import Any, Iterable

import numpy as np
import xxhash

from corpus_tools.hyperloglog import HyperLogLog

MAGIC = b"WTBLOOM\x00"
VERSION = 1
PROBE_ID = "double-hashing-u32/multiply-shift-v1"
STRING_HASH_ID = "xxh3_128(utf8)"
MAX_BITS = 1 << 32
MANIFEST = "bloom.json"

_BIT = np.array([1, 2, 4, 8, 16, 32, 64, 128], dtype=np.uint8)
_CHUNK = 8192  # keys per vectorised step
_U32 = np.uint64(32)
_M64 = (1 << 64) - 1


class BloomFileError(ValueError):
    """A Bloom filter file that cannot be used (wrong format, corrupt, or built differently)."""


class BloomHashError(BloomFileError):
    """A Bloom filter whose keys were hashed otherwise (``found``) than the caller's (``expected``):
    querying it with the caller's hashes would answer "absent" for what it holds."""

    def __init__(self, message: str, found: str | None, expected: str):
        super().__init__(message)
        self.found, self.expected = found, expected


# Double hashing has a false-positive floor the textbook formula lacks: a query whose (a, b) lies
# within about 1/m of an inserted key's (as fractions of 2**32) hits all k of its bits. Measured
# with random keys at 1e-8 (k = 27): 3.0·n/m² (capacity 5, m = 192: 4.0e-4; 50: 5.9e-5; 500:
# 5.8e-6; 5000: 4.5e-7, 45 times the target). m >= sqrt(PAIR_FLOOR·n/fpr) keeps it below fpr;
# at 1e-8 this only enlarges filters of fewer than ~270k items (38.34 bits per item beyond).
PAIR_FLOOR = 4.0


def bloom_size(capacity: int, fpr: float) -> tuple[int, int]:
    """``(m, k)`` for ``capacity`` items at false-positive rate ``fpr`` (see :data:`PAIR_FLOOR`)."""
    if not 0.0 < fpr < 1.0:
        raise ValueError(f"fpr must be in (0, 1), got {fpr}")
    capacity = max(1, int(capacity))
    m = math.ceil(-capacity * math.log(fpr) / (math.log(2) ** 2))
    m = max(m, math.ceil(math.sqrt(PAIR_FLOOR * capacity / fpr)))  # small filters: the double-hashing floor
    m = max(64, -(-m // 64) * 64)
    k = max(1, round(math.log2(1.0 / fpr)))
    return m, k


def string_hashes(strings: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(h1, h2)`` = low/high halves of xxh3_128 of each string's UTF-8 (``STRING_HASH_ID``)."""
    vals = [xxhash.xxh3_128_intdigest(s.encode("utf-8", "surrogatepass")) for s in strings]
    h1 = np.fromiter((v & _M64 for v in vals), dtype=np.uint64, count=len(vals))
    h2 = np.fromiter((v >> 64 for v in vals), dtype=np.uint64, count=len(vals))
    return h1, h2


class BloomFilter:
    """A Bloom filter of ``m`` bits and ``k`` probes over ``(h1, h2)`` uint64 hash pairs."""

    def __init__(self, m: int, k: int, hash_id: str, *, capacity: int | None = None, fpr: float | None = None,
                 n_inserted: int = 0, bits: np.ndarray | None = None, hll_p: int | None = 14,
                 hll: HyperLogLog | None = None, meta: dict[str, Any] | None = None):
        if m <= 0 or m % 8 or m > MAX_BITS:
            raise ValueError(f"m must be a positive multiple of 8 and at most 2**32 bits, got {m} "
                             f"(use partitions for larger filters)")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.m = int(m)
        self.k = int(k)
        self.hash_id = hash_id
        self.capacity = capacity
        self.fpr = fpr
        self.n_inserted = int(n_inserted)
        self.bits = np.zeros(self.m // 8, dtype=np.uint8) if bits is None else bits
        if self.bits.dtype != np.uint8 or len(self.bits) != self.m // 8:
            raise ValueError("bit array does not match m")
        if hll is None and hll_p:
            hll = HyperLogLog(hll_p)
        self.hll = hll
        self.meta = dict(meta or {})
        self._steps = np.arange(self.k, dtype=np.uint32)
        self._m64 = np.uint64(self.m)

    def __getstate__(self) -> dict[str, Any]:  # pickled by Beam: leave the work buffers behind
        state = dict(self.__dict__)
        state.pop("_buf", None)
        return state

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, capacity: int, fpr: float, hash_id: str, **kw: Any) -> "BloomFilter":
        m, k = bloom_size(capacity, fpr)
        return cls(m, k, hash_id, capacity=int(capacity), fpr=float(fpr), **kw)

    def empty_like(self) -> "BloomFilter":
        return BloomFilter(self.m, self.k, self.hash_id, capacity=self.capacity, fpr=self.fpr,
                           hll_p=self.hll.p if self.hll else None, meta=self.meta)

    # ------------------------------------------------------------------ probing
    def _buffers(self, rows: int):
        """Work arrays reused across chunks (fresh multi-MB temporaries cost page faults)."""
        buf = getattr(self, "_buf", None)
        if buf is None or buf[0] < rows:
            size = rows * self.k
            buf = (rows, np.empty(size, np.uint32), np.empty(size, np.uint64), np.empty(size, np.uint64),
                   np.empty(size, np.uint8), np.empty(size, np.uint8))
            self._buf = buf
        return buf

    def _probe(self, h1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(byte index, bit mask) of every probe, shape (len(h1), k), in reused buffers."""
        rows = len(h1)
        _, h32, pos, tmp, mask, _ = self._buffers(rows)
        size = rows * self.k
        h32 = h32[:size].reshape(rows, self.k)
        pos = pos[:size].reshape(rows, self.k)
        tmp = tmp[:size].reshape(rows, self.k)
        mask = mask[:size].reshape(rows, self.k)
        a = h1.astype(np.uint32)
        b = (h1 >> _U32).astype(np.uint32)
        b |= np.uint32(1)
        np.multiply(self._steps[None, :], b[:, None], out=h32)
        np.add(h32, a[:, None], out=h32)  # wraps mod 2**32
        np.multiply(h32, self._m64, out=pos)
        np.right_shift(pos, _U32, out=pos)
        np.bitwise_and(pos, np.uint64(7), out=tmp)
        np.take(_BIT, tmp.view(np.int64), out=mask)
        np.right_shift(pos, np.uint64(3), out=pos)
        return pos.view(np.int64), mask

    def _positions(self, h1: np.ndarray) -> np.ndarray:
        """(len(h1), k) bit positions (for tests and documentation; probing uses ``_probe``)."""
        a = h1.astype(np.uint32)
        b = (h1 >> _U32).astype(np.uint32) | np.uint32(1)
        h = a[:, None] + self._steps[None, :] * b[:, None]
        return (h.astype(np.uint64) * self._m64) >> _U32

    def add_hashes(self, h1: np.ndarray, h2: np.ndarray | None = None) -> None:
        """Insert keys given by their hashes (``h2`` feeds the distinct-count sketch)."""
        h1 = np.asarray(h1, dtype=np.uint64)
        bits = self.bits
        for s in range(0, len(h1), _CHUNK):
            byte, mask = self._probe(h1[s:s + _CHUNK])
            byte = byte.ravel()
            mask = mask.ravel()
            got = self._buf[5][:len(byte)]
            # Fancy `|=` keeps only one write per byte when a byte repeats in the batch, but it
            # never clears a bit: re-apply the writes whose bit is still missing until none is.
            while len(byte):
                np.take(bits, byte, out=got)
                np.bitwise_or(got, mask, out=got)
                bits[byte] = got
                np.take(bits, byte, out=got)
                np.bitwise_and(got, mask, out=got)
                missing = got == 0
                if not missing.any():
                    break
                byte = byte[missing]
                mask = mask[missing]
                got = got[:len(byte)]
        if self.hll is not None and h2 is not None:
            self.hll.add_hashes(h1, np.asarray(h2, dtype=np.uint64))
        self.n_inserted += len(h1)

    def contains_hashes(self, h1: np.ndarray, h2: np.ndarray | None = None) -> np.ndarray:
        """Boolean array: is each key (possibly) in the filter."""
        h1 = np.asarray(h1, dtype=np.uint64)
        out = np.zeros(len(h1), dtype=bool)
        bits = self.bits
        first = min(4, self.k)
        for s in range(0, len(h1), _CHUNK):
            byte, mask = self._probe(h1[s:s + _CHUNK])
            # most absent keys fail within the first few probes; test the rest only for survivors
            alive = ((bits[byte[:, :first]] & mask[:, :first]) != 0).all(axis=1)
            rows = np.flatnonzero(alive)
            if len(rows) and self.k > first:
                ok = ((bits[byte[rows, first:]] & mask[rows, first:]) != 0).all(axis=1)
                alive[rows] = ok
            out[s:s + len(alive)] = alive
        return out

    def add_strings(self, strings: Iterable[str]) -> None:
        self._require_hash(STRING_HASH_ID)
        self.add_hashes(*string_hashes(strings))

    def contains_strings(self, strings: Iterable[str]) -> np.ndarray:
        self._require_hash(STRING_HASH_ID)
        return self.contains_hashes(*string_hashes(strings))

    def _require_hash(self, hash_id: str) -> None:
        if self.hash_id != hash_id:
            raise ValueError(f"this filter hashes keys with {self.hash_id!r}, not {hash_id!r}")

    # ------------------------------------------------------------------ merging
    def compatible(self, other: "BloomFilter") -> str | None:
        """Why ``other`` cannot be merged into this filter (None when it can)."""
        for attr in ("m", "k", "hash_id"):
            if getattr(self, attr) != getattr(other, attr):
                return f"{attr} differs ({getattr(self, attr)!r} vs {getattr(other, attr)!r})"
        return None

    def merge(self, other: "BloomFilter") -> "BloomFilter":
        """OR ``other`` into this filter (in place); the union of both key sets."""
        why = self.compatible(other)
        if why:
            raise ValueError(f"cannot merge Bloom filters: {why}")
        np.bitwise_or(self.bits, other.bits, out=self.bits)
        self.n_inserted += other.n_inserted
        if self.hll is not None and other.hll is not None:
            self.hll.merge(other.hll)
        elif other.hll is None:
            self.hll = None
        return self

    # ------------------------------------------------------------------ measurements
    @property
    def nbytes(self) -> int:
        return int(self.bits.nbytes)

    def bits_set(self) -> int:
        return int(np.bitwise_count(self.bits).sum(dtype=np.int64))

    def fill_ratio(self) -> float:
        return self.bits_set() / self.m

    def estimated_fpr(self) -> float:
        """Probability that an absent key hits k set bits, from the actual fill: fill**k."""
        return self.fill_ratio() ** self.k

    def expected_fpr(self, n: float) -> float:
        """Textbook false-positive rate after inserting ``n`` distinct keys."""
        return (1.0 - math.exp(-self.k * n / self.m)) ** self.k

    def distinct_estimate(self) -> float | None:
        """HyperLogLog estimate of the distinct keys inserted (None without a sketch)."""
        return self.hll.estimate() if self.hll is not None else None

    def fill_count_estimate(self) -> float:
        """Distinct keys estimated from the fill (Swamidass & Baldi 2007): -m/k·ln(1 - X/m)."""
        x = self.fill_ratio()
        return float("inf") if x >= 1.0 else -self.m / self.k * math.log(1.0 - x)

    def describe(self) -> dict[str, Any]:
        distinct = self.distinct_estimate()
        return {
            "m": self.m, "k": self.k, "bytes": self.nbytes, "hash_id": self.hash_id, "probe_id": PROBE_ID,
            "capacity": self.capacity, "fpr_target": self.fpr, "n_inserted": self.n_inserted,
            "distinct_estimate": None if distinct is None else round(distinct),
            "fill_ratio": self.fill_ratio(), "fpr_estimated": self.estimated_fpr(),
            "fpr_at_distinct": None if distinct is None else self.expected_fpr(distinct),
        }

    # ------------------------------------------------------------------ files
    def to_bytes(self) -> bytes:
        header = {
            "format": "webtext-bloom", "m": self.m, "k": self.k, "hash_id": self.hash_id, "probe_id": PROBE_ID,
            "n_inserted": self.n_inserted, "capacity": self.capacity, "fpr": self.fpr,
            "hll_p": self.hll.p if self.hll is not None else None, "meta": self.meta,
        }
        hdr = json.dumps(header, sort_keys=True).encode("utf-8")
        parts = [MAGIC, struct.pack("<II", VERSION, len(hdr)), hdr, self.bits.tobytes()]
        if self.hll is not None:
            parts.append(self.hll.registers.tobytes())
        body = b"".join(parts)
        return body + xxhash.xxh3_128_digest(body)

    @classmethod
    def from_bytes(cls, data: bytes, expected_hash_id: str | None = None, source: str = "<bytes>") -> "BloomFilter":
        def fail(why: str) -> BloomFileError:
            return BloomFileError(f"{source}: not a usable Bloom filter: {why}")

        if len(data) < len(MAGIC) + 8 + 16 or data[:len(MAGIC)] != MAGIC:
            raise fail("bad magic (not a webtext .bloom file)")
        version, hlen = struct.unpack_from("<II", data, len(MAGIC))
        if version != VERSION:
            raise fail(f"format version {version}, this code reads version {VERSION}")
        body, digest = data[:-16], data[-16:]
        if xxhash.xxh3_128_digest(body) != digest:
            raise fail("checksum mismatch (file is corrupt or truncated)")
        start = len(MAGIC) + 8
        try:
            header = json.loads(body[start:start + hlen].decode("utf-8"))
        except ValueError as e:
            raise fail(f"unreadable header ({e})") from None
        if header.get("probe_id") != PROBE_ID:
            raise fail(f"probe scheme {header.get('probe_id')!r}, this code uses {PROBE_ID!r}")
        if expected_hash_id is not None and header.get("hash_id") != expected_hash_id:
            raise BloomHashError(f"{source}: not a usable Bloom filter: hash id {header.get('hash_id')!r} differs "
                                 f"from the expected {expected_hash_id!r} (built with a different n-gram hashing)",
                                 header.get("hash_id"), expected_hash_id)
        m, k, hll_p = int(header["m"]), int(header["k"]), header.get("hll_p")
        pos = start + hlen
        want = pos + m // 8 + ((1 << hll_p) if hll_p else 0)
        if want != len(body):
            raise fail(f"size {len(body)} bytes does not match m={m}, hll_p={hll_p} ({want} bytes)")
        bits = np.frombuffer(body, dtype=np.uint8, count=m // 8, offset=pos).copy()
        hll = None
        if hll_p:
            regs = np.frombuffer(body, dtype=np.uint8, count=1 << hll_p, offset=pos + m // 8).copy()
            hll = HyperLogLog(hll_p, regs)
        return cls(m, k, header["hash_id"], capacity=header.get("capacity"), fpr=header.get("fpr"),
                   n_inserted=header.get("n_inserted", 0), bits=bits, hll_p=None, hll=hll, meta=header.get("meta"))

    def save(self, path: str) -> None:
        _write_bytes(path, self.to_bytes())

    @classmethod
    def load(cls, path: str, expected_hash_id: str | None = None) -> "BloomFilter":
        return cls.from_bytes(_read_bytes(path), expected_hash_id, source=path)


# ---------------------------------------------------------------------- partitions
def partition_of(h2: np.ndarray, partitions: int) -> np.ndarray:
    """Partition index of each key: the top 32 bits of ``h2`` mapped onto ``[0, partitions)``."""
    return (((np.asarray(h2, dtype=np.uint64) >> _U32) * np.uint64(partitions)) >> _U32).astype(np.intp)


def part_name(i: int, partitions: int) -> str:
    return f"part-{i:05d}-of-{partitions:05d}.bloom"


class PartitionedBloom:
    """A Bloom filter split by hash prefix into files ``part-IIIII-of-PPPPP.bloom`` in a
    folder with a ``bloom.json`` manifest. Queries load one partition at a time, so a
    filter larger than one worker's memory can still be built and queried.
    """

    def __init__(self, root: str, manifest: dict[str, Any]):
        self.root = root
        self.manifest = manifest
        self.partitions = int(manifest["partitions"])
        self.hash_id = manifest["hash_id"]
        self.n = manifest.get("n")

    @staticmethod
    def write_part(root: str, index: int, partitions: int, f: BloomFilter) -> dict[str, Any]:
        """Save partition ``index``; returns its description for :meth:`write_manifest`."""
        name = part_name(index, partitions)
        f.save(_join(root, name))
        return {"file": name, **f.describe()}

    @staticmethod
    def write_manifest(root: str, parts: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> dict[str, Any]:
        if not parts:
            raise ValueError("no partitions to write")
        total_bits = sum(p["m"] for p in parts)
        distinct = sum(p["distinct_estimate"] or 0 for p in parts)
        manifest = {
            "format": "webtext-bloom-partitioned", "version": VERSION, "partitions": len(parts),
            "hash_id": parts[0]["hash_id"], "probe_id": PROBE_ID, "k": parts[0]["k"],
            "fpr_target": parts[0]["fpr_target"], "capacity": sum(p["capacity"] or 0 for p in parts),
            "bits": total_bits, "bytes": total_bits // 8, "n_inserted": sum(p["n_inserted"] for p in parts),
            "distinct_estimate": round(distinct),
            "bits_per_distinct": total_bits / distinct if distinct else None,
            # each key belongs to exactly one partition: a random key's FPR is the mean over partitions
            "fpr_estimated": sum(p["fpr_estimated"] for p in parts) / len(parts),
            "parts": parts, **(meta or {}),
        }
        _write_bytes(_join(root, MANIFEST), (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
        return manifest

    @staticmethod
    def write(root: str, filters: list[BloomFilter], meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """Save ``filters`` (partition ``i`` = ``filters[i]``) and the manifest; returns the manifest."""
        parts = [PartitionedBloom.write_part(root, i, len(filters), f) for i, f in enumerate(filters)]
        return PartitionedBloom.write_manifest(root, parts, meta)

    @classmethod
    def open(cls, root: str, expected_hash_id: str | None = None) -> "PartitionedBloom":
        path = _join(root, MANIFEST)
        try:
            manifest = json.loads(_read_bytes(path).decode("utf-8"))
        except FileNotFoundError:
            raise BloomFileError(f"{root}: no {MANIFEST} (not a Bloom filter folder)") from None
        except ValueError as e:
            raise BloomFileError(f"{path}: unreadable manifest ({e})") from None
        if manifest.get("format") != "webtext-bloom-partitioned":
            raise BloomFileError(f"{path}: not a webtext Bloom manifest")
        if expected_hash_id is not None and manifest.get("hash_id") != expected_hash_id:
            raise BloomHashError(f"{path}: hash id {manifest.get('hash_id')!r} differs from the expected "
                                 f"{expected_hash_id!r}", manifest.get("hash_id"), expected_hash_id)
        return cls(root, manifest)

    def load_part(self, i: int) -> BloomFilter:
        return BloomFilter.load(_join(self.root, part_name(i, self.partitions)), expected_hash_id=self.hash_id)

    def contains_hashes(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        h1 = np.asarray(h1, dtype=np.uint64)
        h2 = np.asarray(h2, dtype=np.uint64)
        out = np.zeros(len(h1), dtype=bool)
        if len(h1) == 0:
            return out
        part = partition_of(h2, self.partitions)
        for i in np.unique(part):
            sel = np.flatnonzero(part == i)
            f = self.load_part(int(i))  # one partition in memory at a time
            out[sel] = f.contains_hashes(h1[sel], h2[sel])
            del f
        return out


def open_bloom(path: str, expected_hash_id: str | None = None) -> PartitionedBloom | BloomFilter:
    """A Bloom folder (manifest + partitions) or a single ``.bloom`` file."""
    if _isdir(path) or _exists(_join(path, MANIFEST)):
        return PartitionedBloom.open(path, expected_hash_id)
    if not _exists(path):
        raise BloomFileError(f"{path}: no such Bloom filter file or folder")
    return BloomFilter.load(path, expected_hash_id)


# ---------------------------------------------------------------------- file helpers (local or fsspec)
def _remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _join(root: str, name: str) -> str:
    return root.rstrip("/") + "/" + name if _remote(root) else os.path.join(root, name)


def _exists(path: str) -> bool:
    if _remote(path):
        import fsspec

        fs, p = fsspec.core.url_to_fs(path)
        return fs.exists(p)
    return os.path.exists(path)


def _isdir(path: str) -> bool:
    if _remote(path):
        import fsspec

        fs, p = fsspec.core.url_to_fs(path)
        return fs.isdir(p)
    return os.path.isdir(path)


def _read_bytes(path: str) -> bytes:
    if _remote(path):
        import fsspec

        with fsspec.open(path, "rb") as fh:
            return fh.read()
    with open(path, "rb") as fh:
        return fh.read()


def _write_bytes(path: str, data: bytes) -> None:
    if _remote(path):
        import fsspec

        with fsspec.open(path, "wb") as fh:
            fh.write(data)
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
