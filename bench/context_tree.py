#!/usr/bin/env python3
"""Writes the large build context of bench/real_bench.sh: DIR with FILES files
holding TOTAL bytes, in the file mix of bench/layer_bench.cc (95% small files
of 1-16 KiB, 4% medium of 64 KiB-1 MiB, the last 1% large ones holding the
rest; half of them text that compresses about 3:1, half random bytes; 100
files a directory). Seeded, so every run writes the same tree.

Usage: bench/context_tree.py DIR TOTAL FILES
"""
import os
import random
import sys

SMALL_SHARE = 0.95
MEDIUM_SHARE = 0.04
FILES_PER_DIRECTORY = 100
SEED = 20240601
# Text files are slices of one pool of words: generating every byte word by
# word would take minutes in Python. The pool is larger than any file, and
# larger than gzip's 32 KiB window many times over, so a file compresses as
# its own text would.
TEXT_POOL_BYTES = 8 << 20
WORDS = ("layer digest config manifest registry build cache stage step copy run image blob tar gzip zstd "
         "docker overlay snapshot commit index struct return const static include namespace").split()


def text_pool(rng):
    parts, size = [], 0
    while size < TEXT_POOL_BYTES:
        word = rng.choice(WORDS) + ("\n" if rng.randrange(12) == 0 else " ")
        if rng.randrange(5) == 0:
            word += str(rng.randrange(100000))
        parts.append(word)
        size += len(word)
    return "".join(parts).encode()[:TEXT_POOL_BYTES]


def text_slice(pool, start, size):
    """size bytes of the pool from start on, wrapping around its end."""
    out = bytearray()
    while len(out) < size:
        chunk = pool[start:start + size - len(out)]
        out += chunk
        start = 0
    return bytes(out)


def sizes_for(rng, total, files):
    small = int(files * SMALL_SHARE)
    medium = int(files * MEDIUM_SHARE)
    large = files - small - medium
    sizes = [rng.randrange(1024, 16 * 1024) for _ in range(small)]
    sizes += [rng.randrange(64 * 1024, 1024 * 1024) for _ in range(medium)]
    used = sum(sizes)
    if used >= total or large == 0:
        sys.exit("context_tree.py: the total size is too small for the file mix")
    sizes += [(total - used) // large] * large
    sizes[-1] += (total - used) % large
    rng.shuffle(sizes)
    return sizes


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    root, total, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(SEED)
    pool = text_pool(rng)
    for i, size in enumerate(sizes_for(rng, total, files)):
        d = i // FILES_PER_DIRECTORY
        sub = os.path.join(root, "d%d" % (d % 10), "d%d" % d)
        os.makedirs(sub, exist_ok=True)
        if i % 2:
            data = text_slice(pool, rng.randrange(len(pool)), size)
            name = "f%d.txt" % i
        else:
            data = rng.randbytes(size)
            name = "f%d.bin" % i
        with open(os.path.join(sub, name), "wb") as out:
            out.write(data)


if __name__ == "__main__":
    main()
