#!/usr/bin/env python3
"""bld's per-step figures for bench/real_bench.sh.

  step_times.py layers BLD ROOT STAGE=REF... > LAYERS.json
      The layer each step of a stage added, from the image REF that stage
      built in the store ROOT: {stage: {step number: {"bytes": uncompressed
      size of the layer, "blob": its size as stored, null for a lazy
      layer}}}. A stage's image ends
      with one history entry per instruction of the stage, in order, so step
      [k/N] is the entry N-k from the end.

  step_times.py steps WORKLOAD LAYERS.json LOG...
      Markdown table rows: for each step, the median over the event logs of
      `bld build --progress json` (see cli/progress.cc) of its duration and,
      for RUN steps, of the time from the process's exit (its "exited"
      event) to the step being done, alone and per 100 MB of the layer it
      added: what the layer costs on the critical path.

Logs of a bld without "exited" events give the time from the last output
line instead, an upper bound. The step right after the longest RUN of a
stage (a WORKDIR or COPY, the first to run on the new layer) is marked.
"""
import gzip
import json
import os
import re
import statistics
import subprocess
import sys

NAME_WIDTH = 60
STEP_NUMBER = re.compile(r"^\[(?:[^\]]* )?(\d+)/(\d+)\] ")
# Reading a layer blob back for its uncompressed size, a chunk at a time.
READ_CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def blob_path(root, digest):
    algorithm, hexdigest = digest.split(":", 1)
    return os.path.join(root, "blobs", algorithm, hexdigest)


def uncompressed_size(path):
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic.startswith(GZIP_MAGIC):
        total = 0
        with gzip.open(path, "rb") as f:
            while chunk := f.read(READ_CHUNK):
                total += len(chunk)
        return total
    if magic == ZSTD_MAGIC:
        with open(path, "rb") as f:
            out = subprocess.run(["zstd", "-dc"], stdin=f, stdout=subprocess.PIPE, check=True).stdout
        return len(out)
    return os.path.getsize(path)


def layers(bld, root, pairs):
    result = {}
    for pair in pairs:
        stage, ref = pair.split("=", 1)
        inspected = json.loads(subprocess.run([bld, "--root", root, "inspect", ref], stdout=subprocess.PIPE,
                                              check=True).stdout)[0]
        with open(blob_path(root, inspected["Descriptor"]["digest"]), "rb") as f:
            manifest = json.load(f)
        with open(blob_path(root, manifest["config"]["digest"]), "rb") as f:
            history = json.load(f).get("history", [])
        blobs = iter(manifest["layers"])
        per_entry = [None if h.get("empty_layer") else next(blobs) for h in history]
        steps = {}
        # Entry -1 is the stage's last step, [N/N]; its first is [2/N] (1 is FROM).
        for back, layer in enumerate(reversed(per_entry)):
            if layer is None:
                continue
            if "dev.bld.lazy" in layer.get("annotations", {}):
                # A lazy layer (no blob until a push or save): the descriptor
                # names the uncompressed tar.
                steps[back] = {"bytes": layer["size"], "blob": None}
                continue
            path = blob_path(root, layer["digest"])
            steps[back] = {"bytes": uncompressed_size(path), "blob": os.path.getsize(path)}
        result[stage] = steps
    json.dump(result, sys.stdout)


def read_log(path):
    """[(stage, name)] in start order, and per step {done, last_output, exited, cached}."""
    order, steps = [], {}
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or "event" not in event or "name" not in event:
                continue
            key = (event.get("stage", -1), event["name"])
            step = steps.get(key)
            if step is None:
                step = steps[key] = {"done": None, "last_output": None, "exited": None, "cached": False}
                order.append(key)
            kind = event["event"]
            if kind == "output":
                step["last_output"] = event["elapsed"]
            elif kind == "exited":
                step["exited"] = event["elapsed"]
            elif kind == "done":
                step["done"] = event["elapsed"]
            elif kind == "cached":
                step["cached"] = True
    return order, steps


def median_of(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def layer_of(layer_sizes, key):
    """The layer step `key` added, from its [k/N] and stage, or None."""
    match = STEP_NUMBER.match(key[1])
    if not match:
        return None
    k, n = int(match.group(1)), int(match.group(2))
    if k == 1:
        return None  # FROM adds no layer of its own
    return layer_sizes.get(str(key[0]), {}).get(str(n - k))


def steps(workload, layers_file, log_paths):
    with open(layers_file) as f:
        layer_sizes = json.load(f)
    logs = [read_log(p) for p in log_paths]
    rows = []
    for key in logs[0][0]:
        found = [s[key] for _, s in logs if key in s]
        duration = median_of([s["done"] for s in found])
        gap = median_of([s["done"] - (s["exited"] if s["exited"] is not None else s["last_output"]) for s in found
                         if s["done"] is not None and (s["exited"] is not None or s["last_output"] is not None)])
        rows.append((key, duration, gap, all(s["cached"] for s in found)))

    after_biggest = set()
    for stage in sorted({key[0] for key, *_ in rows}):
        in_stage = [r for r in rows if r[0][0] == stage]
        runs = [(i, r[1]) for i, r in enumerate(in_stage) if " RUN " in r[0][1] and r[1] is not None]
        if runs:
            i = max(runs, key=lambda ir: ir[1])[0]
            if i + 1 < len(in_stage):
                after_biggest.add(in_stage[i + 1][0])

    for key, duration, gap, cached in rows:
        name = key[1] if len(key[1]) <= NAME_WIDTH else key[1][:NAME_WIDTH - 3] + "..."
        mark = " (**after the biggest RUN**)" if key in after_biggest else ""
        layer = layer_of(layer_sizes, key)
        size = "%.1f MB" % (layer["bytes"] / 1e6) if layer else ""
        gap_shown = per_100 = ""
        if " RUN " in key[1] and gap is not None:
            gap_shown = "%.2f s" % gap
            if layer and layer["bytes"] > 0:
                per_100 = "%.2f s" % (gap / (layer["bytes"] / 1e8))
        print("| %s | `%s`%s | %s | %s | %s | %s |" % (
            workload, name.replace("|", "\\|"), mark,
            "cached" if cached else "-" if duration is None else "%.2f s" % duration, size, gap_shown, per_100))


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "layers":
        layers(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) >= 5 and sys.argv[1] == "steps":
        steps(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit("usage: step_times.py layers BLD ROOT STAGE=REF... | steps WORKLOAD LAYERS.json LOG...")


if __name__ == "__main__":
    main()
