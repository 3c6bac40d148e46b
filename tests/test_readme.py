"""The README is executed: its examples run here, as written.

Conventions (README.md follows them; `test_readme_markup` checks them):

- Sections. A section is the text under a heading (any level) up to the
  next heading. The Python blocks (```python) and shell blocks (```bash)
  of a section form a group, run in README order in one fresh Python
  process (`tests/readme_runner.py`) inside a fresh temporary directory:
  later blocks see the names earlier blocks of the group defined, and the
  files they wrote. Blocks without a language (the Layout tree) are
  text.
- `<!-- readme-test: continues "Heading" -->` in a section (before its
  first block) appends the section to the group of the earlier section
  `Heading`, in the same process and directory: "the model above".
- Shell commands run with bash in the group's directory, with the test's
  Python first on PATH. `python -m serving.server ...` starts in the
  background and the group waits (bounded) until its `--model_name` is
  AVAILABLE over gRPC; servers stop when the group ends. Other commands
  must exit with 0 within a bounded time; `curl` must get back JSON
  without an "error" key. The ports 8500 and 8501 (TF Serving's
  defaults) are replaced, in shell and Python blocks alike, by free
  ports.
- Every group runs with HF_HUB_OFFLINE=1. `<!-- readme-test: online;
  offline it raises NAME -->` before a Python block: the block needs the
  internet, so here it must raise the exception class NAME (the clear
  error the README documents), and the group goes on.
- `<!-- readme-test: not run (REASON) ... -->` before a shell block:
  its commands are too slow to run here (training for minutes, the whole
  suite) or need a program this machine may lack. With `; check with
  FLAG`, each command runs with FLAG appended instead (`--help`,
  `--print_config`: the flags parse, the config files load); with
  `; check: COMMAND`, COMMAND runs instead. These checks run from the
  repository root. A not-run block without a check must not hold python
  or bash commands.

A failing block fails its group's test with the section, the README line
and the traceback (tracebacks show README lines). Groups run three at a
time, the longest first (TFZOO_README_JOBS changes it; on two cores, three
overlap one group's compiling with another's waiting for a server). Besides, every class and function the
"What is here" table names must exist in the package of its row.
"""

import concurrent.futures
import dataclasses
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

from serving.local_server import free_port

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPOSITORY, "README.md")
RUNNER = os.path.join(REPOSITORY, "tests", "readme_runner.py")
GROUP_SECONDS = 600
CHECK_SECONDS = 120
JOBS = int(os.environ.get("TFZOO_README_JOBS", "3"))

MARKER = re.compile(r"^<!--\s*readme-test:\s*(.*?)\s*-->\s*$")
CONTINUES = re.compile(r'^continues "(?P<heading>[^"]+)"$')
ONLINE = re.compile(r"^online; offline it raises (?P<error>\w+)$")
NOT_RUN = re.compile(
    r"^not run \((?P<reason>[^)]+)\)"
    r"(?:; check with (?P<flag>\S+)|; check: (?P<check>.+))?$"
)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclasses.dataclass
class Block:
    language: str
    code: str
    line: int  # README line of the block's first code line
    section: str
    marker: str = None


@dataclasses.dataclass
class Section:
    heading: str
    line: int
    blocks: list = dataclasses.field(default_factory=list)
    continues: str = None
    markers: list = dataclasses.field(default_factory=list)


def parse_readme(path=README):
    """The README's sections, with their code blocks and markers."""
    with open(path, encoding="utf-8") as file:
        lines = file.read().split("\n")
    sections = [Section("(top)", 1)]
    pending = None  # a marker waiting for its block
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence:
            start = index + 1
            end = start
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            code = "\n".join(lines[start:end]) + "\n"
            sections[-1].blocks.append(Block(
                fence.group(1), code, start + 1, sections[-1].heading,
                pending,
            ))
            pending = None
            index = end + 1
            continue
        heading = HEADING.match(line)
        marker = MARKER.match(line)
        if heading:
            sections.append(Section(heading.group(2), index + 1))
        elif marker:
            text = marker.group(1)
            sections[-1].markers.append((index + 1, text))
            continues = CONTINUES.match(text)
            if continues:
                sections[-1].continues = continues.group("heading")
            else:
                pending = text
        index += 1
    return sections


def shell_commands(code):
    """A bash block's commands: continuation lines and multi-line quotes
    joined, comment-only lines dropped."""
    commands, current = [], ""
    for line in code.split("\n"):
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current = f"{current}\n{line}" if current else line
        try:
            shlex.split(current, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        if current.rstrip().endswith("\\"):
            continue
        commands.append(current)
        current = ""
    if current:
        commands.append(current)
    return commands


def command_line(block, command):
    """The README line where `command` starts."""
    return block.line + block.code[:block.code.index(command)].count("\n")


def program(command):
    tokens = shlex.split(command, comments=True)
    return tokens[0] if tokens else ""


def is_server(command):
    tokens = shlex.split(command, comments=True)
    return tokens[:3] == ["python", "-m", "serving.server"]


@dataclasses.dataclass
class Group:
    name: str
    sections: list


def groups(sections):
    """Sections with runnable blocks, joined by their `continues` marks."""
    result, by_heading = [], {}
    for section in sections:
        runnable = [b for b in section.blocks
                    if b.language == "python"
                    or (b.language == "bash" and not b.marker)]
        if section.continues:
            group = by_heading.get(section.continues)
            if group is None:
                raise ValueError(
                    f"README.md line {section.line}: section "
                    f"{section.heading!r} continues {section.continues!r}, "
                    f"which is not an earlier section with examples.")
            group.sections.append(section)
        elif runnable:
            group = Group(section.heading, [section])
            result.append(group)
        else:
            continue
        by_heading[section.heading] = group
    return result


def group_items(group, ports):
    """The runner's items: Python blocks and commands, ports replaced."""

    def with_ports(text):
        for default, port in ports.items():
            text = re.sub(rf"\b{default}\b", str(port), text)
        return text

    items = []
    for section in group.sections:
        for block in section.blocks:
            if block.language == "python":
                online = ONLINE.match(block.marker or "")
                items.append({
                    "kind": "python", "section": section.heading,
                    "line": block.line, "code": with_ports(block.code),
                    "online_error": online and online.group("error"),
                })
            elif block.language == "bash" and not block.marker:
                for command in shell_commands(block.code):
                    items.append({
                        "kind": "shell", "section": section.heading,
                        "line": command_line(block, command),
                        "command": with_ports(command),
                        "server": is_server(command),
                    })
    return items


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


SECTIONS = parse_readme()
GROUPS = groups(SECTIONS)


def not_run_checks(sections=SECTIONS):
    """(id, README line, command to run from the repository root)."""
    checks = []
    for section in sections:
        for block in section.blocks:
            match = NOT_RUN.match(block.marker or "")
            if not match or block.language != "bash":
                continue
            if match.group("check"):
                checks.append((f"line-{block.line}", block.line,
                               match.group("check")))
            elif match.group("flag"):
                for command in shell_commands(block.code):
                    line = command_line(block, command)
                    tokens = shlex.split(command, comments=True)
                    checks.append((
                        f"line-{line}", line,
                        shlex.join(tokens + [match.group("flag")]),
                    ))
    return checks


def environment():
    """The test's Python first on PATH; the Hugging Face hub off, so that
    only blocks marked online could reach it."""
    bin_dir = os.path.dirname(sys.executable)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                TF_CPP_MIN_LOG_LEVEL="2", HF_HUB_OFFLINE="1")


RUNNING = set()  # runner processes, killed if the test run stops early


def kill_group(process):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def run_group(group, workdir):
    ports = {"8500": free_port(), "8501": free_port()}
    spec = {"readme": README, "workdir": str(workdir),
            "items": group_items(group, ports)}
    spec_path = os.path.join(str(workdir), ".readme-test.json")
    with open(spec_path, "w") as file:
        json.dump(spec, file)
    log_path = os.path.join(str(workdir), ".readme-test.log")
    started = time.monotonic()
    with open(log_path, "w") as log:
        # A session of its own, so that on a timeout (or an interrupted
        # test run) the runner goes with the servers it started.
        process = subprocess.Popen(
            [sys.executable, RUNNER, spec_path], stdout=log,
            stderr=subprocess.STDOUT, env=environment(),
            start_new_session=True,
        )
        RUNNING.add(process)
        try:
            code = process.wait(timeout=GROUP_SECONDS)
        except subprocess.TimeoutExpired:
            code = f"timeout after {GROUP_SECONDS} s"
        finally:
            kill_group(process)
            RUNNING.discard(process)
    with open(log_path, errors="replace") as file:
        output = file.read()
    return code, output, time.monotonic() - started


HEAVY_CALLS = re.compile(r"\.generate\(|export_saved_model\(|"
                         r"from_pretrained\(|serving\.(server|client)")


def expected_cost(group):
    """Roughly how long a group runs: its training (a compiled step each),
    generation, export, checkpoint loading and serving calls. The groups
    that take longest start first."""
    code = "".join(block.code for section in group.sections
                   for block in section.blocks
                   if block.language in ("python", "bash")
                   and not block.marker)
    return 3 * code.count(".fit(") + len(HEAVY_CALLS.findall(code))


@pytest.fixture(scope="session")
def readme_runs(request, tmp_path_factory):
    """Starts every selected group at once (JOBS at a time); a test waits
    for its own."""
    selected = {item.callspec.params["group"].name
                for item in request.session.items
                if getattr(item, "originalname", None) == "test_readme_group"}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=JOBS)
    runs = {
        group.name: pool.submit(
            run_group, group, tmp_path_factory.mktemp(slug(group.name))
        )
        for group in sorted(GROUPS, key=expected_cost, reverse=True)
        if group.name in selected
    }
    yield runs
    # Normally every run has finished here; after an interrupted or
    # failed-fast test run, stop the rest at once.
    for future in runs.values():
        future.cancel()
    for process in list(RUNNING):
        kill_group(process)
    pool.shutdown(wait=True)


@pytest.mark.parametrize("group", GROUPS, ids=[slug(g.name) for g in GROUPS])
def test_readme_group(group, readme_runs):
    code, output, seconds = readme_runs[group.name].result()
    print(f"group {group.name!r}: {seconds:.1f} s")
    if code != 0:
        failure = output.rfind("README FAILURE")
        detail = output[failure:] if failure >= 0 else output[-6000:]
        pytest.fail(
            f"README group {group.name!r} failed (exit {code}, "
            f"{seconds:.0f} s):\n{detail}", pytrace=False)


CHECKS = not_run_checks()


@pytest.mark.parametrize("line, command", [c[1:] for c in CHECKS],
                         ids=[c[0] for c in CHECKS])
def test_not_run_command_is_checked(line, command):
    result = subprocess.run(
        ["bash", "-c", command], cwd=REPOSITORY, capture_output=True,
        text=True, env=environment(), timeout=CHECK_SECONDS,
    )
    assert result.returncode == 0, (
        f"README.md line {line}: the check `{command}` exited with "
        f"{result.returncode}:\n{(result.stdout + result.stderr)[-4000:]}")


def test_readme_markup():
    known = (CONTINUES, ONLINE, NOT_RUN)
    for section in SECTIONS:
        for line, text in section.markers:
            assert any(p.match(text) for p in known), (
                f"README.md line {line}: unknown marker {text!r}")
        for block in section.blocks:
            where = f"README.md line {block.line}"
            assert block.language in ("", "python", "bash"), (
                f"{where}: a ```{block.language} block; the test runs "
                f"python and bash blocks only")
            if ONLINE.match(block.marker or ""):
                assert block.language == "python", where
            not_run = NOT_RUN.match(block.marker or "")
            if not_run:
                assert block.language == "bash", where
                if not (not_run.group("flag") or not_run.group("check")):
                    unchecked = [c for c in shell_commands(block.code)
                                 if program(c) in ("python", "bash")]
                    assert not unchecked, (
                        f"{where}: not-run commands need a check: "
                        f"{unchecked}")
    names = [g.name for g in GROUPS]
    assert len(names) == len(set(names)), names
    python_blocks = sum(b.language == "python"
                        for s in SECTIONS for b in s.blocks)
    grouped = sum(b.language == "python"
                  for g in GROUPS for s in g.sections for b in s.blocks)
    assert python_blocks == grouped


def test_shell_commands_are_split_like_bash():
    code = ("python a.py   # comment\n# only a comment\n"
            "curl -d '{\"a\": 1,\n  \"b\": 2}' \\\n    host:1/x\n")
    assert shell_commands(code) == [
        "python a.py   # comment",
        "curl -d '{\"a\": 1,\n  \"b\": 2}' \\\n    host:1/x",
    ]


def what_is_here_names(path=README):
    """`(README line, module, name)` for each class or function named in
    the "What is here" table: CamelCase names, and snake_case ones with
    an underscore (preset names excepted, checked against the presets)."""
    with open(path, encoding="utf-8") as file:
        lines = file.read().split("\n")
    names = []
    for number, line in enumerate(lines, 1):
        row = re.match(r"^\| `(tfzoo\.\w+)` \| (.*) \|$", line)
        if not row:
            continue
        for name in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", row.group(2)):
            if name[0].isupper() or "_" in name:
                names.append((number, row.group(1), name))
    return names


# Hugging Face classes the table compares tfzoo's with.
EXTERNAL_NAMES = {"BertTokenizer", "GPT2Tokenizer", "RobertaTokenizer"}


def test_what_is_here_names_exist():
    import importlib

    import tfzoo

    presets = set().union(*(
        cls.presets for cls in (tfzoo.models.BertBackbone,
                                tfzoo.models.GPTBackbone,
                                tfzoo.models.T5Backbone)))
    names = what_is_here_names()
    assert len(names) > 40, "the table's rows were not found"
    modules = {module for _, module, _ in names}
    # A row may name another package's class ("signatures for
    # `GPTCausalLM`"); such names must exist in one of the packages.
    everywhere = set().union(*(dir(importlib.import_module(m))
                               for m in modules))
    missing = [
        f"README.md line {line}: {module}.{name}"
        for line, module, name in names
        if name not in presets | EXTERNAL_NAMES | everywhere
    ]
    assert not missing, "names in the table that do not exist:\n" + "\n".join(
        missing)
