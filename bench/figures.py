"""What the benchmark scripts share: percentiles, and figures a helper script prints as JSON
from inside the system under test (its environment, its database)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def script_figures(script: str, env: dict[str, str], *args: str) -> dict:
    """Run bench/<script> with ``env`` and ``args`` and return the JSON object its last line
    prints."""
    output = subprocess.run(
        [sys.executable, str(BENCH_DIR / script), *args],
        env=env,
        cwd=BENCH_DIR.parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])
