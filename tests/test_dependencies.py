"""tfzoo's packages import one way: layers -> models -> convert / export ->
recipes, and no module hides an upward import inside a function."""

import ast
import pathlib

import tfzoo

# Each package may import from the packages of earlier rows only (and from
# itself). Packages in one row do not import each other.
LAYERS = (
    ("_backend", "logs", "presets", "legacy_layout"),
    ("tokenizers", "layers", "metrics", "data", "training"),
    ("preprocessing", "generation"),
    ("models",),
    ("convert", "export"),
    ("recipes", "launch"),
)
RANK = {package: rank for rank, row in enumerate(LAYERS) for package in row}
ROOT = pathlib.Path(tfzoo.__file__).parent


def imported_packages(path):
    """(line, tfzoo subpackage) of every import in a file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + (
                [f"{node.module}.{a.name}" for a in node.names]
                if node.module == "tfzoo" else []
            )
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "tfzoo" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def package_of(path):
    relative = path.relative_to(ROOT)
    return relative.parts[0].removesuffix(".py")


def test_every_package_has_a_layer():
    packages = {package_of(p) for p in ROOT.rglob("*.py")} - {"__init__"}
    assert packages <= set(RANK), sorted(packages - set(RANK))


def test_imports_run_one_way():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        package = package_of(path)
        if package == "__init__":  # `import tfzoo` imports everything
            continue
        for line, imported in imported_packages(path):
            if imported != package and RANK[imported] >= RANK[package]:
                upward.append(f"{path.relative_to(ROOT.parent)}:{line} "
                              f"({package} imports {imported})")
    assert upward == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "example.py"
    source.write_text(
        "def load():\n    from tfzoo.convert import from_pretrained\n"
    )
    assert imported_packages(source) == [(2, "convert")]
