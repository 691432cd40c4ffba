"""zstd decompression with a cap, so a forged size field never decides an allocation."""

from __future__ import annotations

from pathlib import Path

try:
    from compression import zstd  # type: ignore[import-not-found]  # Python >= 3.14
except ImportError:  # pragma: no cover - depends on interpreter
    from backports import zstd  # type: ignore[no-redef]

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_FILE_RATIO = 200
MIN_FILE_CAP = 64 << 20


def decompress_capped(data: bytes, limit: int) -> bytes:
    """Decompress one zstd frame, refusing output beyond ``limit`` bytes."""
    try:
        d = zstd.ZstdDecompressor()
        out = d.decompress(data, max_length=max(limit, 0))
    except zstd.ZstdError as err:
        raise ValueError(f"zstd data is damaged ({err})") from err
    if not d.eof and len(out) >= limit:
        raise ValueError(f"zstd data expands beyond {limit} bytes")
    return out


def maybe_decompress_payload(data: bytes, limit: int = 256 << 20) -> bytes:
    """rosbag2 message-mode compression: payloads that start with the zstd magic."""
    if data[:4] == ZSTD_MAGIC:
        return decompress_capped(data, limit)
    return data


def decompress_file(src: Path, dst: Path) -> None:
    """``x.db3.zstd`` -> ``x.db3``, streamed, capped at 200x the compressed size."""
    cap = max(MIN_FILE_CAP, MAX_FILE_RATIO * src.stat().st_size)
    written = 0
    try:
        with zstd.open(src, "rb") as fin, dst.open("wb") as fout:
            while block := fin.read(1 << 20):
                written += len(block)
                if written > cap:
                    raise ValueError(f"decompresses beyond {cap} bytes (ratio limit)")
                fout.write(block)
    except zstd.ZstdError as err:
        raise ValueError(f"zstd file is damaged ({err})") from err
    except EOFError as err:
        raise ValueError(f"zstd file is truncated ({err})") from err
