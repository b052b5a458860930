"""docs/ARCHITECTURE.md and README.md name only paths and modules that exist, and ARCHITECTURE.md names every
package of photolab/: the map a newcomer follows cannot drift from the tree (reads text and ASTs only, fast)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
DOCUMENTS = (ARCHITECTURE, ROOT / "README.md")
TOP_FOLDERS = ("photolab", "tests", "bench", "training", "packaging", "docs", "resources")
PATH = re.compile(r"(?<![\w./~-])((?:%s)/[\w./-]*)(<?)" % "|".join(TOP_FOLDERS))
MODULE = re.compile(r"(?<![\w./-])photolab(?:\.\w+)+")
PLACEHOLDERS = {"NAME"}  # ``bench/NAME.py`` stands for any script there


def named_paths(text: str) -> set[str]:
    """Every ``photolab/...`` (``tests/...``, ``bench/...``, ...) path in ``text``, without sentence punctuation;
    a path with a placeholder (``photolab/gui/<feature>/``, ``bench/bench_<name>.py``) stands for its folder."""
    paths = {path[:path.rfind("/") + 1] if placeholder else path.rstrip(".,")
             for path, placeholder in PATH.findall(text)}
    return {p for p in paths if not any(Path(part).stem in PLACEHOLDERS for part in Path(p).parts)}


def named_modules(text: str) -> set[str]:
    """Every dotted ``photolab.x.y`` name in ``text`` (a module, or a module then a name defined in it)."""
    return set(MODULE.findall(text))


def module_file(name: str) -> Path | None:
    """The source of module ``name`` (a package's ``__init__.py``), or None when there is none."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def top_level_names(source: Path) -> dict[str, ast.AST]:
    """Names a module defines at its top level (functions, classes, assignments, imports, ``__all__``)."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update({n.id: node for n in ast.walk(target) if isinstance(n, ast.Name)})
                if isinstance(target, ast.Name) and target.id == "__all__":
                    names.update({e.value: node for e in node.value.elts if isinstance(e, ast.Constant)})
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update({(a.asname or a.name).split(".")[0]: node for a in node.names})
    return names


def module_exists(name: str) -> bool:
    """True when ``name`` is a photolab module, or a module followed by a name it defines (and, for a class, a
    name defined in the class: ``photolab.models.store.manager.ModelManager.load_denoiser``)."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        source = module_file(".".join(parts[:split]))
        if source is None:
            continue
        rest = parts[split:]
        if not rest:
            return True
        defined = top_level_names(source)
        if rest[0] not in defined:
            return False
        node = defined[rest[0]]
        if len(rest) > 1 and isinstance(node, ast.ClassDef):
            members = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
            members |= {t.id for n in node.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                        for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
            return rest[1] in members
        return True
    return False


def test_every_named_path_exists():
    missing = [f"{doc.name}: {path}" for doc in DOCUMENTS for path in sorted(named_paths(doc.read_text()))
               if not (ROOT / path).exists()]
    assert missing == []


def test_every_named_module_exists():
    missing = [f"{doc.name}: {name}" for doc in DOCUMENTS for name in sorted(named_modules(doc.read_text()))
               if not module_exists(name)]
    assert missing == []


def test_the_architecture_names_every_package():
    named = named_paths(ARCHITECTURE.read_text())
    packages = {f"{init.parent.relative_to(ROOT).as_posix()}/" for init in (ROOT / "photolab").rglob("__init__.py")}
    wanted = packages | {"photolab/services.py", "photolab/jobs.py"}
    assert sorted(wanted - named) == []


def test_the_checks_catch_what_moved():
    text = "core/pipeline.py became `photolab/core/render.py`; not photolab/core/pipeline.py (photolab.core.pipeline)."
    assert named_paths(text) == {"photolab/core/render.py", "photolab/core/pipeline.py"}
    assert not (ROOT / "photolab/core/pipeline.py").exists()
    assert not module_exists("photolab.core.pipeline")
    assert module_exists("photolab.core.develop.OPERATIONS")
    assert module_exists("photolab.models.store.manager.ModelManager.load_denoiser")
    assert not module_exists("photolab.models.store.manager.ModelManager.load_everything")
    assert named_paths("the sidecar IMG.CR2.photolab.json, bench/NAME.py, photolab/cli/<group>.py, "
                       "bench/bench_<name>.py") == {"photolab/cli/", "bench/"}
    assert named_modules("IMG_0001.CR2.photolab.json and org.photolab.PhotoLab") == set()
