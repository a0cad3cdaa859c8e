#!/usr/bin/env python3
"""Rebuilds the tables of docs/results.md from the committed runs under experiments/results.

Each table sits between <!-- NAME --> and <!-- /NAME --> markers; the prose around them is written
by hand and is left as it is. The numbers come from each sweep's selection.json and table.csv
(written by `iapt sweep` or `iapt report`) and from `iapt compare`. Run from the repository root:

    ./build/iapt report experiments/results/study_sst2      # after runs were added
    python3 scripts/results-tables.py [--iapt ./build/iapt] [--doc docs/results.md] [--check]

With --check it writes nothing and fails (listing the changed lines) where the document's tables
are not those the committed runs give: the test suite runs it so, and the document cannot go stale.

Standard library only.
"""
import argparse
import csv
import difflib
import functools
import json
import re
import subprocess
import sys
from pathlib import Path

RESULTS = Path("experiments/results")

# label -> how the tables name it (the configs hold the full definitions)
METHODS = {
    "iapt": "IAPT (k 4, m 32, rational (6, 5))",
    "prompt_tuning": "prompt tuning (k 4)",
    "ptuning_v2": "P-tuning v2 (k 4)",
    "ptuning_v2_small_start": "P-tuning v2 (k 4), small start (variant)",
    "idpg": "IDPG (k 4, m 80)",
    "lpt": "LPT (k 4, m 192, middle layer)",
    "lora": "LoRA (r 4, every projection)",
    "adapter": "adapters (serial, m 16)",
    "parallel_adapter": "parallel adapters (m 16)",
    "ia3": "(IA)^3",
    "full": "full fine-tuning",
}

# study_ablations.yaml's configurations: (ablation, what differs from IAPT's own configuration)
ABLATIONS = [
    ("activation", "iapt", "learned rational, joint (IAPT)"),
    ("activation", "bilevel", "learned rational, bilevel"),
    ("activation", "gelu", "GELU"),
    ("activation", "relu", "ReLU"),
    ("activation", "tanh", "tanh"),
    ("activation", "swish", "swish"),
    ("activation", "identity", "identity"),
    ("activation", "relu_lower_gelu_upper", "ReLU below, GELU above (per depth)"),
    ("pooling", "iapt", "self-attention (IAPT)"),
    ("pooling", "mean", "mean"),
    ("pooling", "max", "max"),
    ("pooling", "last", "last token"),
    ("soft tokens", "k1", "k 1"),
    ("soft tokens", "k2", "k 2"),
    ("soft tokens", "iapt", "k 4 (IAPT)"),
    ("soft tokens", "k8", "k 8"),
    ("soft tokens", "k16", "k 16"),
    ("bottleneck", "m8", "m 8"),
    ("bottleneck", "m16", "m 16"),
    ("bottleneck", "iapt", "m 32 (IAPT)"),
    ("bottleneck", "m64", "m 64"),
    ("bottleneck", "m128", "m 128"),
    ("start (variant)", "gated", "gated prefix (step 0 is the frozen model)"),
    ("start (variant)", "zero_up", "zero up-projection"),
]


def rate(value):
    """0.003 -> 3e-3, as the configs write rates."""
    mantissa, exponent = f"{float(value):.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


@functools.cache  # read once: several tables look up the same sweeps
def rows_of(sweep):
    """label -> the row of the sweep's table.csv (the selected candidate's runs)."""
    path = RESULTS / sweep / "table.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {row["configuration"]: row for row in csv.DictReader(f)}


@functools.cache
def majority(sweep, split):
    """The majority class's score on a split, from any summary of the sweep."""
    for summary in sorted((RESULTS / sweep).rglob("summary.json")):
        data = json.loads(summary.read_text())
        score = data.get("majority", {}).get(split, {}).get(data["dev_metric"])
        if score is not None:
            return score
    return None


@functools.cache  # the pooled table repeats the SST-2 comparisons of methods run on SST-2 alone
def compare(iapt, sweeps, a, b, b_from=()):
    return Comparison(iapt, sweeps, a, b, b_from)


class Comparison:
    """`iapt compare SWEEP... --a A --b B [--b-from SWEEP...]`, over seeds and over examples."""

    def __init__(self, iapt, sweeps, a, b, b_from=()):
        self.pairs = self.wins = self.losses = 0
        self.mean = self.p_seeds = self.p_examples = None
        sweeps = [sweeps] if isinstance(sweeps, str) else sweeps
        base = [iapt, "compare", *(str(RESULTS / s) for s in sweeps), "--a", a, "--b", b]
        if b_from:
            base += ["--b-from", *(str(RESULTS / s) for s in b_from)]
        seeds = subprocess.run(base, capture_output=True, text=True)
        if seeds.returncode != 0:
            return
        m = re.search(r"mean ([+-][0-9.]+) over (\d+) pairs \((\d+) wins, (\d+) losses.*p = ([0-9.e+-]+)",
                      seeds.stdout)
        if not m:
            sys.exit(f"results-tables: unexpected output of {' '.join(base)}:\n{seeds.stdout}")
        self.mean, self.pairs, self.wins, self.losses, self.p_seeds = float(m[1]), int(m[2]), int(m[3]), int(m[4]), m[5]
        examples = subprocess.run(base + ["--unit", "example"], capture_output=True, text=True, check=True)
        self.p_examples = re.search(r"p = ([0-9.e+-]+)\s*$", examples.stdout.strip())[1]


def selection_table():
    selection = json.loads((RESULTS / "study_sst2/selection.json").read_text())
    rates = sorted({float(c.split("=")[1]) for e in selection.values() for c in e["candidates"]})
    lines = ["| method | " + " | ".join(rate(r) for r in rates) + " |", "|---|" + "---:|" * len(rates)]
    for label, name in METHODS.items():
        entry = selection.get(label)
        if not entry:
            continue
        cells = {}
        for candidate, c in entry["candidates"].items():
            value = float(candidate.split("=")[1])
            text = f"{c['dev_mean']:.3f}"
            cells[value] = f"**{text}**" if candidate == entry["selected"] else text
        lines.append(f"| {name} | " + " | ".join(cells.get(r, "") for r in rates) + " |")
    return lines


def main_table(sweep="study_sst2"):
    rows = rows_of(sweep)
    test_majority = majority(sweep, "test")
    lines = ["| method | tunable parameters | lr | runs | dev (median) | test (median) | test (mean ± std) "
             "| test minus majority, in std |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, name in METHODS.items():
        row = rows.get(label)
        if not row:
            continue
        mean, std = float(row["test_mean"]), float(row["test_std"])
        distance = f"{(mean - test_majority) / std:.1f}" if std > 0 else "-"
        lines.append(f"| {name} | {int(row['tunable_parameters']):,} | {rate(row['training.lr'])} | {row['seeds']} "
                     f"| {float(row['dev_median']):.3f} | {float(row['test_median']):.3f} | {mean:.3f} ± {std:.3f} "
                     f"| {distance} |")
    return lines


def paired_table(iapt, sweeps=("study_sst2",)):
    """IAPT against each baseline, over the seeds of every sweep that has both (pooled)."""
    lines = ["| B | over seeds: mean difference (wins of pairs) | p | over examples: p |", "|---|---:|---:|---:|"]
    for label, name in METHODS.items():
        have = [s for s in sweeps if label in rows_of(s) and "iapt" in rows_of(s)]
        if label == "iapt" or not have:
            continue
        c = compare(iapt, tuple(have), "iapt", label)
        if c.mean is not None:
            lines.append(f"| {name} | {c.mean:+.4f} ({c.wins} of {c.pairs}) | {c.p_seeds} | {c.p_examples} |")
    return lines


# The other tasks' sweeps (each method at the rate SST-2 selected), and how the document names them.
TASKS = [("study_wordnet", "WordNet"), ("study_rte", "RTE"), ("study_boolq", "BoolQ"), ("study_copa", "COPA")]


def tasks_table():
    lines = []
    for sweep, task in TASKS:
        if not rows_of(sweep):
            lines += [f"**{task}**: not run yet.", ""]
            continue
        test_majority = majority(sweep, "test")
        lines += [f"**{task}** (`experiments/configs/{sweep}.yaml`; the majority class scores "
                  f"{test_majority:.3f} on test):", ""] + main_table(sweep) + [""]
    return lines[:-1]


def pooled_table(iapt):
    """Claim (a)'s test: IAPT against each baseline over the seeds of every task where both ran."""
    return paired_table(iapt, ["study_sst2"] + [s for s, _ in TASKS])


# study_coefficient_rate.yaml's configurations, compared with the ablations' IAPT (coefficients at
# the main rate) and GELU
COEFFICIENT_RATE = [("joint_slow", "learned rational, joint, coefficients at 3e-5"),
                    ("bilevel_slow", "learned rational, bilevel, coefficients at 3e-5")]


def coefficient_table(iapt):
    rows = rows_of("study_coefficient_rate")
    lines = ["| configuration | runs | test (median) | test (mean ± std) | minus IAPT (coefficients at 3e-3): mean "
             "(wins) | p over examples | minus GELU: mean (wins) | p over examples |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, name in COEFFICIENT_RATE:
        row = rows.get(label)
        if not row:
            lines.append(f"| {name} | 0 | | | | | | |")
            continue
        cells = [f"| {name} | {row['seeds']} | {float(row['test_median']):.3f} "
                 f"| {float(row['test_mean']):.3f} ± {float(row['test_std']):.3f}"]
        for b in ("iapt", "gelu"):
            c = compare(iapt, "study_coefficient_rate", label, b, ("study_ablations",))
            cells.append(f"{c.mean:+.4f} ({c.wins} of {c.pairs}) | {c.p_examples}" if c.mean is not None else " | ")
        lines.append(" | ".join(cells) + " |")
    return lines


# Claim (c)'s test: the learned rational, as IAPT learns it here and in the paper's setting, against
# every fixed activation of the ablation (same seeds, same sweep base)
FIXED_ACTIVATIONS = [("gelu", "GELU"), ("relu", "ReLU"), ("swish", "swish"), ("tanh", "tanh"),
                     ("identity", "identity"), ("relu_lower_gelu_upper", "ReLU below, GELU above")]


def activation_table(iapt):
    lines = ["| learned rational | runs | test (mean ± std) | " + " | ".join(f"minus {n}" for _, n in FIXED_ACTIVATIONS)
             + " |", "|---|---:|---:|" + "---:|" * len(FIXED_ACTIVATIONS)]
    ablations, slow = rows_of("study_ablations"), rows_of("study_coefficient_rate")
    settings = [("joint, coefficients at 3e-3 (IAPT here)", ablations.get("iapt"), None),
                ("bilevel, coefficients at 3e-5 (the paper's setting)", slow.get("bilevel_slow"), "bilevel_slow")]
    for name, row, label in settings:
        if not row:
            lines.append(f"| {name} | 0 | |" + " |" * len(FIXED_ACTIVATIONS))
            continue
        cells = [f"| {name} | {row['seeds']} | {float(row['test_mean']):.3f} ± {float(row['test_std']):.3f}"]
        for fixed, _ in FIXED_ACTIVATIONS:
            if label is None:  # the ablation table's own comparison, read the other way round
                c = compare(iapt, "study_ablations", fixed, "iapt")
                mean, wins = (-c.mean, c.losses) if c.mean is not None else (None, 0)
            else:
                c = compare(iapt, "study_coefficient_rate", label, fixed, ("study_ablations",))
                mean, wins = c.mean, c.wins
            cells.append(f"{mean:+.3f} ({wins} of {c.pairs}), p {c.p_examples}" if mean is not None else "")
        lines.append(" | ".join(cells) + " |")
    return lines


# Claim (c)'s second half: does each layer learn its own function? (`iapt rationals`: the layers'
# functions over the seeds, with the layer labels shuffled within each seed)
LEARNED_RATIONALS = [("study_ablations", "iapt", "joint, coefficients at 3e-3 (IAPT here)"),
                     ("study_ablations", "bilevel", "bilevel, coefficients at 3e-3"),
                     ("study_coefficient_rate", "joint_slow", "joint, coefficients at 3e-5"),
                     ("study_coefficient_rate", "bilevel_slow", "bilevel, coefficients at 3e-5 (the paper's setting)")]


def rationals_table(iapt):
    lines = ["| learned rational | seeds | distance from the start, layers 0 to 5 | between layers | between seeds "
             "| p: the same function per layer | p: the same rank of the distance per layer |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for sweep, label, name in LEARNED_RATIONALS:
        if label not in rows_of(sweep):
            continue
        command = [iapt, "rationals", str(RESULTS / sweep), "--config", label]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        layers = re.findall(r"^\| \d+ \| ([0-9.]+) \|$", out, re.M)
        m = re.search(r"between two layers of one seed ([0-9.]+), between two seeds of one layer ([0-9.]+)\n"
                      r".*per layer p = ([0-9.e+-]+) .*per layer p = ([0-9.e+-]+) ", out)
        seeds = re.search(r"mean over (\d+) seeds", out)
        if not m or not seeds:
            sys.exit(f"results-tables: unexpected output of {' '.join(command)}:\n{out}")
        lines.append(f"| {name} | {seeds[1]} | {', '.join(f'{float(d):.2f}' for d in layers)} | {float(m[1]):.2f} "
                     f"| {float(m[2]):.2f} | {m[3]} | {m[4]} |")
    return lines


def ablation_table(iapt):
    rows = rows_of("study_ablations")
    lines = ["| ablation | configuration | runs | test (median) | test (mean ± std) | minus IAPT: mean (wins of pairs) "
             "| p over seeds | p over examples |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for ablation, label, name in ABLATIONS:
        row = rows.get(label)
        if not row:
            lines.append(f"| {ablation} | {name} | 0 | | | | | |")
            continue
        head = (f"| {ablation} | {name} | {row['seeds']} | {float(row['test_median']):.3f} "
                f"| {float(row['test_mean']):.3f} ± {float(row['test_std']):.3f} |")
        if label == "iapt":
            lines.append(head + " | | |")
            continue
        c = compare(iapt, "study_ablations", label, "iapt")
        if c.mean is None:
            lines.append(head + " | | |")
        else:
            lines.append(head + f" {c.mean:+.4f} ({c.wins} of {c.pairs}) | {c.p_seeds} | {c.p_examples} |")
    return lines


def replace_section(text, name, lines):
    start, end = f"<!-- {name} -->\n", f"<!-- /{name} -->"
    if start not in text or end not in text:
        sys.exit(f"results-tables: the document has no {start.strip()} ... {end} section")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return before + start + "\n".join(lines) + "\n" + end + after


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iapt", default="./build/iapt", help="the iapt executable (for iapt compare)")
    parser.add_argument("--doc", default="docs/results.md")
    parser.add_argument("--check", action="store_true", help="write nothing; fail where the tables are stale")
    args = parser.parse_args()
    if not Path(args.iapt).exists():
        sys.exit(f"results-tables: {args.iapt} not found (build it first, or pass --iapt)")
    doc = Path(args.doc)
    before = text = doc.read_text()
    text = replace_section(text, "SELECTION", selection_table())
    text = replace_section(text, "MAIN", main_table())
    text = replace_section(text, "PAIRED", paired_table(args.iapt))
    text = replace_section(text, "ABLATIONS", ablation_table(args.iapt))
    text = replace_section(text, "COEFFICIENT_RATE", coefficient_table(args.iapt))
    text = replace_section(text, "ACTIVATIONS", activation_table(args.iapt))
    text = replace_section(text, "RATIONALS", rationals_table(args.iapt))
    text = replace_section(text, "TASKS", tasks_table())
    text = replace_section(text, "POOLED", pooled_table(args.iapt))
    if args.check:
        if text != before:
            diff = difflib.unified_diff(before.splitlines(), text.splitlines(), str(doc), "from the runs", lineterm="")
            sys.exit(f"results-tables: {doc}'s tables are not those the committed runs give "
                     "(run python3 scripts/results-tables.py):\n" + "\n".join(diff))
        print(f"results-tables: {doc}'s tables match the committed runs")
        return
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(doc)


if __name__ == "__main__":
    main()
