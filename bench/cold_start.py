"""Cold init of every function in template.yaml against a process that only imports boto3 and makes one client.

Each figure is a fresh ``python3.12`` process (this venv's interpreter, ``-I -S``) that puts the
function's code folder and its layers first on ``sys.path`` (the venv's site-packages last, as the
runtime's own packages come last on Lambda), sets the function's environment as the template
resolves it, and imports the handler module: what Lambda's init phase does. The goal
(DESIGN.md, "Performance budget") is every function at most 1.3x the baseline.

Each process's CPU time (user + system, from ``wait4``) is taken beside its wall time: on a
machine shared with other work the wall time of a 0.4 s process swings by a third, its CPU time
far less, so both ratios are printed (the goal is judged on the wall-time median, as Lambda bills).

Entry modules import their services inside the handlers (a route loads what it calls when it
first runs). "+ first use" is therefore timed too: the entry module and then every import its
handlers make on their first call, all at once (an upper bound of what a first request adds in
imports; clients and the SSM read come on top).

Then the same code laid out as SAM ships it (the layer's requirements and ``market`` in one
folder, each function's code and requirements in another) is timed without ``.pyc`` (what a zip
with 1980 timestamps costs: every import compiles) and with ``--invalidation-mode unchecked-hash``
``.pyc``, and each artifact's zipped and unzipped size is printed (from this machine's installed
packages, not the arm64 wheels ``sam build`` fetches: sizes close to, not equal to, the deployed
ones). Last, ``-X importtime``'s biggest contributors for the slowest function.

    python -m bench.cold_start [--runs 7] [--pyc-runs 3] [--skip-pyc] [--json PATH]
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import REPO_ROOT
from bench.support import FAKE_AWS_ENV, Figures, heading, machine_line, median, summary, write_figures

BUDGET_RATIO = 1.3
BASELINE_CODE = "import boto3\nboto3.client('dynamodb')"
# argv: prepended paths, appended paths (os.pathsep-separated), code to time.
PROBE = f"""\
import sys, time
start = time.perf_counter()
sys.path[:0] = [p for p in sys.argv[1].split({os.pathsep!r}) if p]
sys.path.extend(p for p in sys.argv[2].split({os.pathsep!r}) if p)
exec(sys.argv[3])
print(round((time.perf_counter() - start) * 1000, 3))
"""
SITE_PACKAGES = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]


@dataclass
class Target:
    label: str
    code: str  # what the process runs after setting sys.path
    prepend: list[Path] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    logical_id: str = ""
    wall_ms: list[float] = field(default_factory=list)
    import_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    first_use: Target | None = None  # the same function with its handlers' imports made too

    def reset(self) -> None:
        self.wall_ms.clear()
        self.import_ms.clear()
        self.cpu_ms.clear()


def lambda_environment(function_env: dict[str, str], name: str, memory: int) -> dict[str, str]:
    """What the Lambda runtime sets, plus the template's variables (fake credentials, no endpoint)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        **FAKE_AWS_ENV,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        **function_env,
    }


def first_use_imports(entry: Path) -> list[str]:
    """The import statements inside the entry module's functions (what its handlers load when first called)."""
    statements: dict[str, None] = {}
    for node in ast.walk(ast.parse(entry.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    statements[ast.unparse(inner)] = None
    return list(statements)


def function_targets() -> list[Target]:
    from localdev.template import LocalTemplate, load_template

    targets = []
    for spec in LocalTemplate(load_template()).functions():
        module = spec.handler.rsplit(".", 1)[0]
        target = Target(
            label=f"{spec.logical_id} ({spec.code_dir.name}/{module}.py)",
            code=f"import {module}",
            prepend=[spec.code_dir, *spec.layer_dirs],
            env=lambda_environment(spec.environment, spec.logical_id, spec.memory),
            logical_id=spec.logical_id,
        )
        lazy = first_use_imports(spec.code_dir / f"{module}.py")
        target.first_use = Target(
            label=f"{spec.logical_id} + first use",
            code="\n".join([target.code, *lazy]),
            prepend=target.prepend,
            env=target.env,
            logical_id=spec.logical_id,
        )
        targets.append(target)
    return targets


def baseline_target() -> Target:
    return Target(
        label="baseline: import boto3 + 1 client",
        code=BASELINE_CODE,
        env=lambda_environment({}, "Baseline", 512),
    )


def run_once(
    target: Target, *, flags: tuple[str, ...] = (), append: list[str] | None = None
) -> tuple[float, float, float]:
    """(process wall ms, in-process import ms, process CPU ms) of one fresh interpreter."""
    args = [
        sys.executable,
        "-I",
        "-S",
        *flags,
        "-c",
        PROBE,
        os.pathsep.join(str(path) for path in target.prepend),
        os.pathsep.join(SITE_PACKAGES if append is None else append),
        target.code,
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(args, env=target.env, stdout=out, stderr=err, cwd=tempfile.gettempdir())
        _, status, usage = os.wait4(process.pid, 0)
        wall = (time.perf_counter() - start) * 1000
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{target.label}: the import failed:\n{stderr[-3000:]}")
    cpu = (usage.ru_utime + usage.ru_stime) * 1000
    return wall, float(stdout.strip().splitlines()[-1]), cpu


def compile_repository_code(targets: list[Target]) -> None:
    """Valid timestamp .pyc for the functions and the layer (as after any test run), in one process."""
    folders = sorted({str(path) for target in targets for path in target.prepend})
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True, capture_output=True)


def measure(targets: list[Target], runs: int, *, flags: tuple[str, ...] = ()) -> None:
    """Interleaved rounds (every target once per round), so background load spreads evenly."""
    for _ in range(runs):
        for target in targets:
            wall, imported, cpu = run_once(target, flags=flags)
            target.wall_ms.append(wall)
            target.import_ms.append(imported)
            target.cpu_ms.append(cpu)


def report_functions(baseline: Target, functions: list[Target], runs: int, figures: Figures) -> Target:
    base, base_cpu = median(baseline.wall_ms), median(baseline.cpu_ms)
    heading(f"cold start: fresh processes, median of {runs} (min in brackets), goal <= {BUDGET_RATIO}x baseline")
    width = max(len(t.label) for t in [baseline, *functions])
    print(
        f"{'':{width}}  {'process ms':>16}  {'import ms':>9}  {'cpu ms':>6}  {'x baseline':>10}  {'x (cpu)':>7}  "
        f"{'+ first use x':>13}"
    )
    base_import = median(baseline.import_ms)
    print(
        f"{baseline.label:{width}}  {base:8.0f} ({min(baseline.wall_ms):5.0f})  {base_import:9.0f}  {base_cpu:6.0f}  "
        f"{1:10.2f}  {1:7.2f}"
    )
    figures["cold_start.baseline_ms"] = round(base, 1)
    figures["cold_start.baseline_cpu_ms"] = round(base_cpu, 1)
    over = []
    for target in sorted(functions, key=lambda t: median(t.wall_ms)):
        wall = median(target.wall_ms)
        ratio, cpu_ratio = wall / base, median(target.cpu_ms) / base_cpu
        first_use = median(target.first_use.wall_ms) / base if target.first_use and target.first_use.wall_ms else None
        note = f"  over budget (> {BUDGET_RATIO}x)" if ratio > BUDGET_RATIO else ""
        if note:
            over.append(target.logical_id)
        shown_first_use = f"{first_use:13.2f}" if first_use is not None else f"{'-':>13}"
        print(
            f"{target.label:{width}}  {wall:8.0f} ({min(target.wall_ms):5.0f})  "
            f"{median(target.import_ms):9.0f}  {median(target.cpu_ms):6.0f}  {ratio:10.2f}  {cpu_ratio:7.2f}  "
            f"{shown_first_use}{note}"
        )
        key = f"cold_start.{target.logical_id}"
        figures[f"{key}.ms"] = round(wall, 1)
        figures[f"{key}.ratio_vs_boto3"] = round(ratio, 3)
        figures[f"{key}.cpu_ratio_vs_boto3"] = round(cpu_ratio, 3)
        if first_use is not None:
            figures[f"{key}.first_use_ratio_vs_boto3"] = round(first_use, 3)
    print(
        "+ first use x: the entry module and every import its handlers make when first called, against the "
        "baseline (what a first request adds before its own AWS calls)"
    )
    slowest = max(functions, key=lambda t: median(t.wall_ms))
    fastest = min(functions, key=lambda t: median(t.wall_ms))
    figures["cold_start.max_ratio_vs_boto3"] = round(median(slowest.wall_ms) / base, 3)
    figures["cold_start.functions_over_budget"] = len(over)
    summary(
        f"cold start: baseline {base:.0f} ms; functions {median(fastest.wall_ms) / base:.2f}x-"
        f"{median(slowest.wall_ms) / base:.2f}x (slowest {slowest.logical_id}; by CPU time "
        f"{max(median(t.cpu_ms) for t in functions) / base_cpu:.2f}x at most); "
        + (f"{len(over)} of {len(functions)} over {BUDGET_RATIO}x" if over else f"all within {BUDGET_RATIO}x")
    )
    return slowest


# ---------------------------------------------------------------- the SAM layout, with and without .pyc


def _requirement_names(path: Path) -> list[str]:
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def _distribution_closure(requirements: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``pip install -r`` would put in the layer (without extras)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [Requirement(line) for line in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        try:
            distribution = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found[name] = distribution
        for raw in distribution.requires or []:
            nested = Requirement(raw)
            if nested.marker is None or nested.marker.evaluate({"extra": ""}):
                pending.append(nested)
    return list(found.values())


def _install(distributions: list[importlib.metadata.Distribution], target: Path) -> None:
    for distribution in distributions:
        for relative in distribution.files or []:
            if relative.suffix == ".pyc" or relative.parts[0] == ".." or "__pycache__" in relative.parts:
                continue
            source = Path(str(distribution.locate_file(relative)))
            if not source.is_file():
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


def build_sam_layout(root: Path, functions: list[Target]) -> dict[str, Path]:
    """``root/opt/python``: the layer (its requirements + market); ``root/task/<dir>``: each function's
    code and its own requirements (the auth function's argon2), as ``sam build`` lays them out."""
    layer = root / "opt" / "python"
    layer.mkdir(parents=True)
    _install(_distribution_closure(_requirement_names(REPO_ROOT / "layers" / "common" / "requirements.txt")), layer)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt")
    shutil.copytree(REPO_ROOT / "layers" / "common" / "python" / "market", layer / "market", ignore=ignore)
    task_dirs = {}
    for target in functions:
        code_dir = target.prepend[0]
        task = root / "task" / code_dir.name
        if not task.exists():
            shutil.copytree(code_dir, task, ignore=ignore)
            requirements = code_dir / "requirements.txt"
            if requirements.exists():
                _install(_distribution_closure(_requirement_names(requirements)), task)
        task_dirs[target.label] = task
    return {"layer": layer, **task_dirs}


def compile_unchecked_hash(root: Path) -> float:
    """What the layer's build does (and a function's should): unchecked-hash .pyc; seconds taken."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(root)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def zipped_size(folder: Path) -> tuple[int, int]:
    """(zipped bytes, unzipped bytes) of a folder as one deflated zip, as SAM uploads it."""
    unzipped = 0
    with tempfile.TemporaryFile() as raw:
        with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder))
                    unzipped += path.stat().st_size
        return raw.tell(), unzipped


def report_sizes(layout: dict[str, Path], functions: list[Target], figures: Figures) -> None:
    layer_zip, layer_raw = zipped_size(layout["layer"])
    by_dir: dict[Path, tuple[int, int]] = {}
    heading("artifact sizes (SAM layout with unchecked-hash .pyc; Lambda's limit: 250 MB unzipped, layers included)")
    print(f"CommonLayer: {layer_zip / 1e6:.1f} MB zipped, {layer_raw / 1e6:.1f} MB unzipped")
    figures["cold_start.CommonLayer.zip_bytes"] = layer_zip
    figures["cold_start.CommonLayer.unzipped_bytes"] = layer_raw
    width = max(len(t.label) for t in functions)
    print(f"{'':{width}}  {'code zip KB':>11}  {'code KB':>8}  {'with layer MB unzipped':>22}")
    for target in sorted(functions, key=lambda t: t.label):
        task = layout[target.label]
        if task not in by_dir:
            by_dir[task] = zipped_size(task)
        code_zip, code_raw = by_dir[task]
        total = (code_raw + layer_raw) / 1e6
        print(f"{target.label:{width}}  {code_zip / 1e3:11.1f}  {code_raw / 1e3:8.1f}  {total:22.1f}")
        figures[f"cold_start.{target.logical_id}.code_zip_bytes"] = code_zip
        figures[f"cold_start.{target.logical_id}.unzipped_with_layer_bytes"] = code_raw + layer_raw
    print("(the code folder is shared by the functions whose CodeUri is the same)")


def sam_layout_figures(
    baseline: Target, functions: list[Target], chosen: list[Target], runs: int, figures: Figures, *, pyc: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sam-layout-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        layout = build_sam_layout(root, functions)
        copy_s = time.perf_counter() - start
        targets = [
            Target(label=baseline.label, code=baseline.code, prepend=[layout["layer"]], env=baseline.env),
            *(
                Target(label=t.label, code=t.code, prepend=[layout[t.label], layout["layer"]], env=t.env)
                for t in chosen
            ),
        ]
        without: dict[str, tuple[float, float]] = {}
        if pyc:
            # Without .pyc: -B, so nothing is written and every run compiles, like a read-only 1980-dated zip.
            measure(targets, runs, flags=("-B",))
            without = {t.label: (median(t.wall_ms), min(t.wall_ms)) for t in targets}
            for target in targets:
                target.reset()
        compile_s = compile_unchecked_hash(root)
        if pyc:
            measure(targets, runs, flags=("-B",))
            heading(
                f".pyc: the SAM layout (layer deps + market + function code; boto3 from the runtime), median of {runs}"
            )
            print(f"(layout copied in {copy_s:.1f} s; compileall unchecked-hash took {compile_s:.1f} s)")
            width = max(len(t.label) for t in targets)
            print(f"{'':{width}}  {'no .pyc ms':>10}  {'unchecked-hash ms':>17}  {'saved':>6}")
            for target in targets:
                before = without[target.label][0]
                after = median(target.wall_ms)
                saved = f"{before - after:5.0f} ms ({after / before:.0%} of it left)"
                print(f"{target.label:{width}}  {before:10.0f}  {after:17.0f}  {saved}")
            first, last = targets[0], targets[-1]
            summary(
                f"unchecked-hash .pyc: baseline {without[first.label][0]:.0f} -> {median(first.wall_ms):.0f} ms, "
                f"{last.label.split(' ')[0]} {without[last.label][0]:.0f} -> {median(last.wall_ms):.0f} ms"
            )
        report_sizes(layout, functions, figures)


# ---------------------------------------------------------------- -X importtime


@dataclass
class ImportLine:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


def import_times(target: Target) -> list[ImportLine]:
    args = [
        sys.executable,
        "-I",
        "-S",
        "-X",
        "importtime",
        "-c",
        PROBE,
        os.pathsep.join(str(path) for path in target.prepend),
        os.pathsep.join(SITE_PACKAGES),
        target.code,
    ]
    done = subprocess.run(args, env=target.env, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
    lines = []
    for raw in done.stderr.splitlines():
        if not raw.startswith("import time:") or "cumulative" in raw:
            continue
        self_us, cumulative_us, name = raw.removeprefix("import time:").split("|", 2)
        stripped = name.lstrip(" ")
        depth = (len(name) - len(stripped) - 1) // 2
        lines.append(ImportLine(int(self_us), int(cumulative_us), depth, stripped))
    return lines


def report_import_times(target: Target, top: int = 10) -> None:
    lines = import_times(target)
    module = target.code.removeprefix("import ")
    heading(f"-X importtime, {target.label}: top {top} cumulative (indent = nesting)")
    shown = [line for line in lines if line.name != module]
    for line in sorted(shown, key=lambda line: -line.cumulative_us)[:top]:
        print(f"{line.cumulative_us / 1000:8.1f} ms  {'  ' * line.depth}{line.name}")
    by_package: dict[str, int] = {}
    for line in lines:
        package = line.name.split(".", 1)[0]
        by_package[package] = by_package.get(package, 0) + line.self_us
    total = sum(by_package.values())
    biggest = sorted(by_package.items(), key=lambda item: -item[1])[:8]
    print(
        f"self time by top-level package (total {total / 1000:.0f} ms): "
        + ", ".join(f"{name} {us / 1000:.0f}" for name, us in biggest)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per function (median)")
    parser.add_argument("--pyc-runs", type=int, default=3, help="processes per target in the .pyc comparison")
    parser.add_argument("--skip-pyc", action="store_true", help="skip the SAM-layout .pyc comparison")
    parser.add_argument("--json", type=Path, help="write the figures as JSON (make bench: bench/results/latest.json)")
    args = parser.parse_args(argv)

    baseline = baseline_target()
    functions = function_targets()
    first_uses = [t.first_use for t in functions if t.first_use is not None]
    print(machine_line())
    compile_repository_code(functions)
    measure([baseline, *functions, *first_uses], args.runs)
    figures: Figures = {}
    slowest = report_functions(baseline, functions, args.runs, figures)
    receiver = [t for t in functions if t.logical_id == "WebhookFunction"]
    chosen = [*(t for t in receiver if t is not slowest), slowest]
    sam_layout_figures(baseline, functions, chosen, args.pyc_runs, figures, pyc=not args.skip_pyc)
    report_import_times(slowest)
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
