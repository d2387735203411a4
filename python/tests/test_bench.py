"""`moa bench --json`: what its decoding records count (run through the CLI, as a user would)."""
import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOA = os.environ.get("MOA_BIN", os.path.join(ROOT, "build", "release", "tools", "moa", "moa"))


def bench_record(*args):
    out = subprocess.run([MOA, "bench", "--impl", "fused", "--threads", "1", "--dtype", "float32",
                          "--min-time", "0", "--json", *args],
                         check=True, capture_output=True, text=True).stdout
    records = json.loads(out)
    assert len(records) == 1
    return records[0]


@pytest.mark.parametrize("causal, nq, kv_rows", [
    (False, 3, 50),  # every query reads all 50 key/value rows
    (True, 3, 3),    # top-left causal: the last of 3 queries sees 3 keys, the rest is never read
    (True, 50, 50),  # nq = n: the last query sees them all
])
def test_kv_rate_counts_the_rows_the_queries_see(causal, nq, kv_rows):
    heads, kv_heads, d = 4, 2, 8
    r = bench_record("--n", "50", "--nq", str(nq), "--d", str(d), "--heads", str(heads),
                     "--kv-heads", str(kv_heads), *(["--causal"] if causal else []))
    assert r["nq"] == nq and r["kv_heads"] == kv_heads
    kv_bytes = r["kv_gb_per_s"] * 1e9 * r["median_s"]
    assert kv_bytes == pytest.approx(2 * kv_heads * kv_rows * d * 4, rel=1e-6)
    pairs = nq * (nq + 1) / 2 if causal and nq < 50 else nq * 50 * (0.5 if causal else 1)
    assert r["gflops"] * 1e9 * r["median_s"] == pytest.approx(4 * pairs * d * heads, rel=1e-6)
