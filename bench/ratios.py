"""pytest-benchmark JSON -> a markdown table of ratios to ``jit``, with its provenance.

Usage::

    pytest bench --benchmark-enable --dist no --benchmark-json=b.json
    python bench/ratios.py b.json [--baseline jit] [-o ratios.md]

One row per benchmark group (``kernel|shape|dtype``, set by ``bench/conftest.py``); one column
per contender, each the ratio of its median time to the baseline's median (``8.1x``: eight
times slower than jit; ``0.50x``: twice as fast); the baseline's own median time in a column of
its own. Training benchmarks record their ``steps`` in ``extra_info``; their times are
compared per step (naive trains fewer steps than the others). A footer gives machine,
versions, BLAS threads and the command, from the JSON's ``machine_info`` (numbagg's
``run_benchmarks.py`` does the same for its README).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CONTENDERS = ["naive", "numpy", "jit", "course-numpy", "torch", "sklearn-mlp"]


def contender_of(bench: dict) -> str:
    """The column a benchmark goes in: ``extra_info["contender"]``, else its ``backend``."""
    name = bench.get("extra_info", {}).get("contender")
    return name or (bench.get("params") or {}).get("backend") or bench["name"]


def format_time(seconds: float) -> str:
    """``1.23 ms``-style: three significant digits in s, ms, us or ns."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_ratio(ratio: float) -> str:
    """``8.1x`` below 10, ``259x`` above, ``0.52x`` below 1."""
    if ratio >= 10:
        return f"{ratio:.0f}x"
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"


def medians(data: dict) -> tuple[dict[str, dict[str, float]], set[str]]:
    """``{group: {contender: median seconds}}`` in the order groups first appear, and the set
    of groups whose times are per step (median divided by ``extra_info["steps"]``)."""
    table: dict[str, dict[str, float]] = {}
    per_step: set[str] = set()
    for bench in data["benchmarks"]:
        group = bench.get("group") or bench["name"]
        steps = bench.get("extra_info", {}).get("steps")
        median = bench["stats"]["median"]
        if steps:
            median /= steps
            per_step.add(group)
        table.setdefault(group, {})[contender_of(bench)] = median
    return table, per_step


def _footer(data: dict) -> list[str]:
    info = data.get("machine_info", {})
    cpu = info.get("cpu", {})
    versions = info.get("fastdnn_versions") or {"python": info.get("python_version", "?")}
    commit = data.get("commit_info", {})
    lines = [
        f"Median times; ratios are contender / {{baseline}} (lower is faster). "
        f"Machine: {cpu.get('brand_raw') or info.get('processor') or '?'}, "
        f"{cpu.get('count', '?')} logical cores, {info.get('system', '?')} "
        f"{info.get('machine', '')}; BLAS threads: {info.get('fastdnn_blas_threads', '?')}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
    ]
    when = data.get("datetime", "?")
    rev = commit.get("id", "?")[:10] + (" (dirty)" if commit.get("dirty") else "")
    lines.append(f"Commit {rev}, {when}, pytest-benchmark {data.get('version', '?')}.")
    if info.get("fastdnn_command"):
        lines.append(f"Command: `{info['fastdnn_command']}`")
    return lines


def ratio_table(data: dict, baseline: str = "jit") -> str:
    """The markdown table (with footer) for a loaded pytest-benchmark JSON."""
    table, per_step = medians(data)
    present = {c for row in table.values() for c in row}
    columns = [c for c in CONTENDERS if c in present and c != baseline]
    columns += sorted(present - set(CONTENDERS) - {baseline})
    # Groups are "kernel|shape|dtype": split them into columns (a "|" would break the table).
    n_parts = max((len(g.split("|")) for g in table), default=1)
    key_names = ["kernel", "shape", "dtype"] if n_parts == 3 else ["group"]
    header = [*key_names, f"{baseline} median", *columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group, row in table.items():
        parts = group.split("|")
        keys = parts if len(key_names) == 3 and len(parts) == 3 else [group.replace("|", "\\|")]
        keys += [""] * (len(key_names) - len(keys))
        base = row.get(baseline)
        unit = "/step" if group in per_step else ""
        cells = [format_time(base) + unit if base else "-"]
        for c in columns:
            if c not in row:
                cells.append("-")
            elif base:
                cells.append(format_ratio(row[c] / base))
            else:
                cells.append(format_time(row[c]) + unit)
        lines.append("| " + " | ".join([*keys, *cells]) + " |")
    footer = [line.replace("{baseline}", baseline) for line in _footer(data)]
    return "\n".join([*lines, "", *footer]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json", type=Path, help="file written by --benchmark-json")
    parser.add_argument("--baseline", default="jit", help="contender the ratios divide by")
    parser.add_argument("-o", "--output", type=Path, help="write the table here too")
    args = parser.parse_args(argv)
    if args.output:  # before any work: a folder, a missing folder, a read-only file
        from fastdnn._atomic import check_writable

        try:
            check_writable(args.output)
        except (OSError, ValueError) as exc:
            parser.error(f"-o: {exc}")
    try:
        data = json.loads(args.json.read_text())
        table, _ = medians(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        parser.error(
            f"'{args.json}' is not a pytest-benchmark JSON file ({type(exc).__name__}: {exc}); "
            "write one with pytest bench --benchmark-enable --dist no --benchmark-json FILE"
        )
    present = sorted({c for row in table.values() for c in row})
    if args.baseline not in present:
        parser.error(
            f"--baseline must be one of the file's contenders {present}; got {args.baseline!r}"
        )
    text = ratio_table(data, args.baseline)
    sys.stdout.write(text)
    if args.output:
        from fastdnn._atomic import atomic_write

        atomic_write(args.output, lambda f: f.write(text.encode()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
