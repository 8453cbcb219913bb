#!/usr/bin/python3
"""FAISS on the vectors `safelynx bench index` wrote, for a same-run comparison.

Usage: faiss_index.py DIR
DIR holds meta.json ({"n", "d", "q", "k", "ef": [..], "m", "ef_construction"}),
base.f32 (n x d float32) and queries.f32 (q x d float32). For each index it
prints one JSON line on stdout and writes the top-k ids of every query to
DIR/<kind>[_ef<ef>].ids (int64, q x k) for the caller to score recall.

Searches run one query per call on one thread (faiss.omp_set_num_threads(1)),
like Safelynx's; building uses every core. Each call's time includes the
Python-to-C++ call overhead, measured and printed as "call_overhead_us".
"""
import json
import os
import sys
import time


def rss_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))]


def time_queries(index, queries, k, warmup=50):
    for i in range(min(warmup, len(queries))):
        index.search(queries[i:i + 1], k)
    times, ids = [], []
    for i in range(len(queries)):
        start = time.perf_counter_ns()
        _, found = index.search(queries[i:i + 1], k)
        times.append((time.perf_counter_ns() - start) / 1000.0)
        ids.append(found[0])
    times.sort()
    return times, ids


def main():
    if len(sys.argv) != 2:
        print("usage: faiss_index.py DIR", file=sys.stderr)
        return 2
    try:
        import faiss
        import numpy as np
    except ImportError as error:
        print(f"faiss_index.py: cannot import FAISS/numpy ({error}); "
              "install the Debian packages python3-faiss python3-numpy", file=sys.stderr)
        return 3
    folder = sys.argv[1]
    with open(os.path.join(folder, "meta.json")) as f:
        meta = json.load(f)
    n, d, q, k = meta["n"], meta["d"], meta["q"], meta["k"]
    base = np.fromfile(os.path.join(folder, "base.f32"), dtype=np.float32).reshape(n, d)
    queries = np.fromfile(os.path.join(folder, "queries.f32"), dtype=np.float32).reshape(q, d)

    # What one search call costs before FAISS does any work.
    tiny = faiss.IndexFlatL2(d)
    tiny.add(base[:1])
    overhead, _ = time_queries(tiny, queries[:200], 1)
    call_overhead_us = percentile(overhead, 50)

    def report(kind, index, build_s, bytes_per_embedding, suffix="", extra=None):
        faiss.omp_set_num_threads(1)
        times, ids = time_queries(index, queries, k)
        np.asarray(ids, dtype=np.int64).tofile(os.path.join(folder, kind + suffix + ".ids"))
        line = {"kind": kind, "size": n, "build_s": round(build_s, 3),
                "p50_us": round(percentile(times, 50), 1), "p99_us": round(percentile(times, 99), 1),
                "bytes_per_embedding": round(bytes_per_embedding, 1),
                "call_overhead_us": round(call_overhead_us, 2), "faiss": faiss.__version__}
        line.update(extra or {})
        print(json.dumps(line), flush=True)

    threads = os.cpu_count() or 1
    faiss.omp_set_num_threads(threads)
    start = time.perf_counter()
    flat = faiss.IndexFlatL2(d)
    flat.add(base)
    report("faiss_flat", flat, time.perf_counter() - start, 4.0 * d)
    del flat

    faiss.omp_set_num_threads(threads)
    before = rss_bytes()
    start = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(d, meta["m"])
    hnsw.hnsw.efConstruction = meta["ef_construction"]
    hnsw.add(base)
    build_s = time.perf_counter() - start
    grown = rss_bytes() - before  # RSS growth: vectors + graph
    for ef in meta["ef"]:
        hnsw.hnsw.efSearch = ef
        report("faiss_hnsw", hnsw, build_s, grown / n, suffix=f"_ef{ef}", extra={"ef_search": ef})
    return 0


if __name__ == "__main__":
    sys.exit(main())
