"""Cold init of every function in template.yaml against a process that only imports boto3 and makes one client.

Each figure is a fresh ``python3.12`` process (this venv's interpreter, ``-I -S``) that puts the
function's code folder and its layers first on ``sys.path`` (the venv's site-packages last, as the
runtime's own packages come last on Lambda), sets the function's environment as the template
resolves it, and imports the handler module: what Lambda's init phase does. The goal
(DESIGN.md, "Performance budget") is every function at most 1.3x the baseline.

Then the same code laid out as SAM ships it (the layer's requirements and ``market`` in one
folder, the function's code in another) is timed without ``.pyc`` (what a zip with 1980
timestamps costs: every import compiles) and with ``--invalidation-mode unchecked-hash``
``.pyc``. Last, ``-X importtime``'s biggest contributors for the slowest function.

    python -m bench.cold_start [--runs 7] [--pyc-runs 5] [--skip-pyc]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import REPO_ROOT
from bench.support import FAKE_AWS_ENV, heading, machine_line, median, summary

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
    wall_ms: list[float] = field(default_factory=list)
    import_ms: list[float] = field(default_factory=list)

    def reset(self) -> None:
        self.wall_ms.clear()
        self.import_ms.clear()


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


def function_targets() -> list[Target]:
    from localdev.template import LocalTemplate, load_template

    targets = []
    for spec in LocalTemplate(load_template()).functions():
        module = spec.handler.rsplit(".", 1)[0]
        targets.append(
            Target(
                label=f"{spec.logical_id} ({spec.code_dir.name}/{module}.py)",
                code=f"import {module}",
                prepend=[spec.code_dir, *spec.layer_dirs],
                env=lambda_environment(spec.environment, spec.logical_id, spec.memory),
            )
        )
    return targets


def baseline_target() -> Target:
    return Target(
        label="baseline: import boto3 + 1 client",
        code=BASELINE_CODE,
        env=lambda_environment({}, "Baseline", 512),
    )


def run_once(target: Target, *, flags: tuple[str, ...] = (), append: list[str] | None = None) -> tuple[float, float]:
    """(process wall ms, in-process import ms) of one fresh interpreter."""
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
    start = time.perf_counter()
    done = subprocess.run(args, env=target.env, capture_output=True, text=True, check=False, cwd=tempfile.gettempdir())
    wall = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{target.label}: the import failed:\n{done.stderr[-3000:]}")
    return wall, float(done.stdout.strip().splitlines()[-1])


def compile_repository_code(targets: list[Target]) -> None:
    """Valid timestamp .pyc for the functions and the layer (as after any test run), in one process."""
    folders = sorted({str(path) for target in targets for path in target.prepend})
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True, capture_output=True)


def measure(targets: list[Target], runs: int, *, flags: tuple[str, ...] = ()) -> None:
    """Interleaved rounds (every target once per round), so background load spreads evenly."""
    for _ in range(runs):
        for target in targets:
            wall, imported = run_once(target, flags=flags)
            target.wall_ms.append(wall)
            target.import_ms.append(imported)


def report_functions(baseline: Target, functions: list[Target], runs: int) -> Target:
    base = median(baseline.wall_ms)
    heading(f"cold start: fresh processes, median of {runs} (min in brackets), goal <= {BUDGET_RATIO}x baseline")
    width = max(len(t.label) for t in [baseline, *functions])
    print(f"{'':{width}}  {'process ms':>16}  {'import ms':>9}  {'x baseline':>10}")
    base_import = median(baseline.import_ms)
    print(f"{baseline.label:{width}}  {base:8.0f} ({min(baseline.wall_ms):5.0f})  {base_import:9.0f}  {1:10.2f}")
    over = []
    for target in sorted(functions, key=lambda t: median(t.wall_ms)):
        wall = median(target.wall_ms)
        ratio = wall / base
        note = f"  over budget (> {BUDGET_RATIO}x)" if ratio > BUDGET_RATIO else ""
        if note:
            over.append(target.label.split(" ")[0])
        print(
            f"{target.label:{width}}  {wall:8.0f} ({min(target.wall_ms):5.0f})  "
            f"{median(target.import_ms):9.0f}  {ratio:10.2f}{note}"
        )
    slowest = max(functions, key=lambda t: median(t.wall_ms))
    fastest = min(functions, key=lambda t: median(t.wall_ms))
    summary(
        f"cold start: baseline {base:.0f} ms; functions {median(fastest.wall_ms) / base:.2f}x-"
        f"{median(slowest.wall_ms) / base:.2f}x (slowest {slowest.label.split(' ')[0]}); "
        + (f"{len(over)} of {len(functions)} over {BUDGET_RATIO}x" if over else f"all within {BUDGET_RATIO}x")
    )
    return slowest


# ---------------------------------------------------------------- the SAM layout, with and without .pyc


def _requirement_names() -> list[str]:
    names = []
    files = [
        REPO_ROOT / "layers" / "common" / "requirements.txt",
        *sorted(REPO_ROOT.glob("functions/*/requirements.txt")),
    ]
    for path in files:
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


def build_sam_layout(root: Path, functions: list[Target]) -> dict[str, Path]:
    """``root/opt/python``: the layer (requirements + market); ``root/task/<n>``: each function's code."""
    layer = root / "opt" / "python"
    layer.mkdir(parents=True)
    for distribution in _distribution_closure(_requirement_names()):
        for relative in distribution.files or []:
            if relative.suffix == ".pyc" or relative.parts[0] == ".." or "__pycache__" in relative.parts:
                continue
            source = Path(str(distribution.locate_file(relative)))
            if not source.is_file():
                continue
            destination = layer / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt")
    shutil.copytree(REPO_ROOT / "layers" / "common" / "python" / "market", layer / "market", ignore=ignore)
    task_dirs = {}
    for target in functions:
        code_dir = target.prepend[0]
        task = root / "task" / code_dir.name
        if not task.exists():
            shutil.copytree(code_dir, task, ignore=ignore)
        task_dirs[target.label] = task
    return {"layer": layer, **task_dirs}


def pyc_comparison(baseline: Target, chosen: list[Target], runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sam-layout-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        layout = build_sam_layout(root, chosen)
        copy_s = time.perf_counter() - start
        targets = [
            Target(label=baseline.label, code=baseline.code, prepend=[layout["layer"]], env=baseline.env),
            *(
                Target(label=t.label, code=t.code, prepend=[layout[t.label], layout["layer"]], env=t.env)
                for t in chosen
            ),
        ]
        # Without .pyc: -B, so nothing is written and every run compiles, like a read-only 1980-dated zip.
        measure(targets, runs, flags=("-B",))
        without = {t.label: (median(t.wall_ms), min(t.wall_ms)) for t in targets}
        for target in targets:
            target.reset()
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(root)],
            check=True,
            capture_output=True,
        )
        compile_s = time.perf_counter() - start
        measure(targets, runs, flags=("-B",))
        heading(f".pyc: the SAM layout (layer deps + market + function code; boto3 from the runtime), median of {runs}")
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
    args = parser.parse_args(argv)

    baseline = baseline_target()
    functions = function_targets()
    print(machine_line())
    compile_repository_code(functions)
    measure([baseline, *functions], args.runs)
    slowest = report_functions(baseline, functions, args.runs)
    if not args.skip_pyc:
        receiver = [t for t in functions if t.label.startswith("WebhookFunction ")]
        chosen = [*(t for t in receiver if t is not slowest), slowest]
        pyc_comparison(baseline, chosen, args.pyc_runs)
    report_import_times(slowest)


if __name__ == "__main__":
    main()
