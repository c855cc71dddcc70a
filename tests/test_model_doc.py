"""Every `§` citation resolves to a heading of docs/model.md, and every cited id to a definition.

Sources scanned: the package (`bilancio_lite/**/*.py`), README.md, docs/*.md (model.md's own
cross-references are checked separately), the notebooks' cell sources, the sweep files in
params/, and the CLI help of `bilancio-lite`, `pair`, `sweep` and `report`.

What counts as a citation:

- a section: `§3.2`, `§ 3.2`, ranges `§4.1–4.3` / `§8.1–§8.4` / `§3–§5`, lists `§3.2/§5.2`;
  trailing text such as `§2's`, `§2.1 step 4` or a full stop is ignored;
- a lettered part of a section that has lettered sub-headings in model.md (`§8.6 A`, `§8.6 A/B`);
- an id anywhere in prose (comments and strings of .py files, markdown cells, text files):
  decisions `A39`, invariants `I1–I4`, test vectors `T1–T10`, revision-2 changes `R2.1–R2.3`.

What counts as a definition in docs/model.md: a heading `## 3. …`, `### 3.2 …`,
`#### 8.6 A. …`; a line starting `A39. **` or `T7. **` (decisions, test vectors), `- **I5 `
(invariants) or `| R2.4 |` (the revision-2 table).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "docs" / "model.md"

# --- parsing citations --------------------------------------------------------------------------
_NUM = r"\d+(?:\.\d+)*"
SECTION = re.compile(rf"§\s*(?P<first>{_NUM})(?P<more>(?:\s*[–/-]\s*§?\s*{_NUM})*)"
                     r"(?P<letters>\s+[A-Z](?:\s*/\s*[A-Z])*(?![\w]))?")
_MORE = re.compile(rf"\s*([–/-])\s*§?\s*({_NUM})")
ID = re.compile(r"(?<![\w.])(?P<kind>[AIT])(?P<a>\d{1,2})(?:\s*[–-]\s*(?P=kind)?(?P<b>\d{1,2}))?(?![\w])")
REV2 = re.compile(r"(?<![\w.])R2\.(?P<a>\d+)(?:\s*[–-]\s*(?:R2\.)?(?P<b>\d+))?(?![\w])")


def _expand(a: str, b: str) -> list[str]:
    """`4.1`–`4.3` -> 4.1, 4.2, 4.3; `3`–`5` -> 3, 4, 5; anything else -> both ends."""
    pa, pb = a.split("."), b.split(".")
    if len(pa) == len(pb) and pa[:-1] == pb[:-1] and int(pa[-1]) <= int(pb[-1]):
        return [".".join(pa[:-1] + [str(k)]) for k in range(int(pa[-1]), int(pb[-1]) + 1)]
    return [a, b]


def section_citations(text: str) -> list[tuple[str, str | None, str]]:
    """[(section number, letter or None, the cited text)] for every `§` citation in `text`."""
    out = []
    for m in SECTION.finditer(text):
        cited = m.group(0).strip()
        numbers = [m.group("first")]
        prev = m.group("first")
        for sep, num in _MORE.findall(m.group("more")):
            numbers.extend(_expand(prev, num)[1:] if sep != "/" else [num])
            prev = num
        for n in numbers:
            out.append((n, None, cited))
        if m.group("letters"):
            for letter in re.findall(r"[A-Z]", m.group("letters")):
                out.append((numbers[-1], letter, cited))
    return out


def id_citations(text: str) -> list[tuple[str, str]]:
    """[(id, the cited text)] for every A/I/T/R2.x id (ranges expanded) in `text`."""
    out = []
    for m in ID.finditer(text):
        a = int(m.group("a"))
        b = int(m.group("b")) if m.group("b") else a
        out.extend((f"{m.group('kind')}{k}", m.group(0)) for k in range(a, max(a, b) + 1))
    for m in REV2.finditer(text):
        a = int(m.group("a"))
        b = int(m.group("b")) if m.group("b") else a
        out.extend((f"R2.{k}", m.group(0)) for k in range(a, max(a, b) + 1))
    return out


# --- what docs/model.md defines --------------------------------------------------------------------
HEADING = re.compile(rf"^#{{1,6}}\s+§?\s*(?P<num>{_NUM})(?:\.|\s|$)(?:\s*(?P<letter>[A-Z])\.)?", re.M)
DEFINES = re.compile(r"^(?:(?P<at>[AT]\d+)\.\s+\*\*|- \*\*(?P<i>I\d+)\s|\|\s*(?P<r>R2\.\d+)\s*\|)", re.M)


def model_anchors(text: str) -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """(section numbers, (section, letter) parts, ids) defined by a model document."""
    sections, parts, ids = set(), set(), set()
    for m in HEADING.finditer(text):
        sections.add(m.group("num"))
        if m.group("letter"):
            parts.add((m.group("num"), m.group("letter")))
    for m in DEFINES.finditer(text):
        ids.add(m.group("at") or m.group("i") or m.group("r"))
    return sections, parts, ids


def _line(text: str, pos: int, first: int = 1) -> int:
    return first + text.count("\n", 0, pos)


def unresolved(text: str, where: str, anchors, *, prose: list[tuple[int, str]] | None = None
               ) -> list[str]:
    """Citations in `text` that docs/model.md does not define, as `where:line: 'cited' -> why`.
    Ids are looked for in `prose`, a list of (first line, text) chunks (default: all of `text`)."""
    sections, parts, ids = anchors
    lettered = {s for s, _ in parts}
    bad = []
    for m in SECTION.finditer(text):
        at = f"{where}:{_line(text, m.start())}"
        for num, letter, cited in section_citations(m.group(0)):
            if num not in sections:
                bad.append(f"{at}: '{cited}' -> no heading §{num}")
            elif letter and num in lettered and (num, letter) not in parts:
                bad.append(f"{at}: '{cited}' -> no heading §{num} {letter}")
    for first, chunk in ([(1, text)] if prose is None else prose):
        for m in list(ID.finditer(chunk)) + list(REV2.finditer(chunk)):
            for ident, cited in id_citations(m.group(0)):
                if ident not in ids:
                    bad.append(f"{where}:{_line(chunk, m.start(), first)}: '{cited}' -> {ident} is not defined")
    return bad


# --- sources -------------------------------------------------------------------------------------
def _python_prose(source: str) -> list[tuple[int, str]]:
    """The comments and string literals of a Python file, with their first line (ids are only
    looked for there, never in code)."""
    kinds = {tokenize.COMMENT, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    return [(tok.start[0], tok.string)
            for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type in kinds]


# Each source is a list of (where, text searched for § citations, prose searched for ids).
def _package() -> list[tuple[str, str, list[tuple[int, str]]]]:
    out = []
    for path in sorted((ROOT / "bilancio_lite").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        out.append((str(path.relative_to(ROOT)), text, _python_prose(text)))
    return out


def _text_files(paths) -> list[tuple[str, str, list[tuple[int, str]]]]:
    out = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        out.append((str(path.relative_to(ROOT)), text, [(1, text)]))
    return out


def _notebooks() -> list[tuple[str, str, list[tuple[int, str]]]]:
    out = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for k, cell in enumerate(nb.get("cells", [])):
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            prose = [(1, src)] if cell.get("cell_type") == "markdown" else []
            out.append((f"{path.relative_to(ROOT)} cell {k}", src, prose))
    return out


def _cli_help() -> list[tuple[str, str, list[tuple[int, str]]]]:
    from bilancio_lite.cli import build_parser

    parser = build_parser()
    helps = [("bilancio-lite --help", parser.format_help())]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                helps.append((f"bilancio-lite {name} --help", sub.format_help()))
    # argparse wraps lines: join them so that a citation split across lines is read whole
    out = []
    for where, text in helps:
        flat = " ".join(text.split())
        out.append((where, flat, [(1, flat)]))
    return out


SOURCES = {
    "package": _package,
    "README": lambda: _text_files([ROOT / "README.md"]),
    "docs": lambda: _text_files(p for p in sorted((ROOT / "docs").glob("*.md")) if p != MODEL),
    "notebooks": _notebooks,
    "params": lambda: _text_files(sorted((ROOT / "params").glob("*.yaml"))),
    "cli": _cli_help,
}


@pytest.fixture(scope="module")
def anchors():
    assert MODEL.is_file(), "docs/model.md is missing"
    return model_anchors(MODEL.read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_citations_resolve(kind, anchors):
    found, bad = 0, []
    for where, text, prose in SOURCES[kind]():
        found += len(section_citations(text))
        bad += unresolved(text, where, anchors, prose=prose)
    assert not bad, "citations that docs/model.md does not define:\n" + "\n".join(bad)
    if kind in ("package", "README", "cli"):
        assert found > 0, f"no § citation found in {kind}: is the scanner broken?"


def test_model_md_cross_references_resolve(anchors):
    """model.md's own § references and ids point inside model.md."""
    text = MODEL.read_text(encoding="utf-8")
    bad = unresolved(text, "docs/model.md", anchors)
    assert not bad, "\n".join(bad)


def test_model_md_defines_every_numbered_item(anchors):
    """§0–§11, every decision A1–A47, invariant I1–I19, test vector T1–T25 and change R2.1–R2.7."""
    sections, _, ids = anchors
    assert {str(k) for k in range(12)} <= sections
    expected = ({f"A{k}" for k in range(1, 48)} | {f"I{k}" for k in range(1, 20)}
                | {f"T{k}" for k in range(1, 26)} | {f"R2.{k}" for k in range(1, 8)})
    assert not expected - ids, sorted(expected - ids)


def test_checker_catches_missing_targets(anchors):
    """The scanner reports citations of missing sections, parts and ids, and accepts valid ones."""
    sections, parts, ids = anchors
    text = ("See §3.2, §4.1–4.3, §8.1–§8.4, §3–§5/§10, §9, A39, (§7.5), §8.6 A/B and §10 I1–I4. "
            "But §12.3, §4.1–4.9, §8.6 F, A99, I42, T77 and R2.9 do not exist.")
    bad = unresolved(text, "probe", anchors)
    missing = {line.split("-> ")[1] for line in bad}
    assert all(line.startswith("probe:1: '") for line in bad), bad
    assert missing == {"no heading §12.3", "no heading §4.5", "no heading §4.6", "no heading §4.7",
                       "no heading §4.8", "no heading §4.9", "no heading §8.6 F",
                       "A99 is not defined", "I42 is not defined", "T77 is not defined",
                       "R2.9 is not defined"}
    # a document without §7.5 makes (§7.5) fail
    assert unresolved("(§7.5)", "probe", (sections - {"7.5"}, parts, ids))


# --- the "Where each § is implemented" table names code that exists ------------------------------
_CODE = re.compile(r"`([^`]+)`")
#: names in the table that are spec vocabulary, not code (streams of §6.3)
_SPEC_NAMES = {"rng_struct", "rng_trade"}


def implementation_table() -> list[tuple[str, str]]:
    """(§ cell, code cell) of every row of model.md's "Where each § is implemented" table."""
    text = MODEL.read_text(encoding="utf-8")
    part = text.split("### Where each § is implemented", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1:-1] for line in part.splitlines() if line.startswith("| §")]
    return [(cells[0].strip(), cells[2]) for cells in rows]


def resolve_code_name(name: str, context: list[str]) -> bool:
    """Whether `name` from the table exists: a file (``book.py``, ``sweep/config.py`` under the
    package; ``tests/…``, ``docs/…`` under the repository), a module or attribute path under
    bilancio_lite (``engine.Run.s5_trading``), or a name inside a module, class or test file named
    earlier in the same cell (``Book.pay`` after ``book.py``, ``Checker`` after
    ``tests/spec_oracle.py``). ``context`` collects those, in order."""
    import importlib

    if name in _SPEC_NAMES:
        return True
    if name.endswith((".py", ".md", "/")):
        in_repo = name.startswith(("tests/", "docs/"))
        path = (ROOT if in_repo else ROOT / "bilancio_lite") / name
        if not path.exists():
            return False
        if name.endswith((".py", "/")):
            context.append(f"file:{path}" if in_repo else name.removesuffix(".py").strip("/").replace("/", "."))
        return True
    for scope in [""] + [c for c in reversed(context)]:
        if scope.startswith("file:"):
            text = Path(scope[5:]).read_text(encoding="utf-8")
            if "." not in name and re.search(rf"^(?:class|def) {name}\b", text, re.M):
                return True
            continue
        dotted = f"{scope}.{name}" if scope else name
        obj = _lookup("bilancio_lite." + dotted, importlib)
        if obj is not None:
            if isinstance(obj, type) or type(obj).__name__ == "module":
                context.append(dotted)
            elif "." in dotted:
                context.append(dotted.rsplit(".", 1)[0])
            return True
    return False


def _lookup(dotted: str, importlib) -> object | None:
    """The object at a dotted path: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 1, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return None
            obj = getattr(obj, attr)
        return obj
    return None


def test_implementation_table_names_code_that_exists():
    rows = implementation_table()
    assert len(rows) >= 25, "the table of model.md §-to-code has gone missing"
    missing = []
    for section, cell in rows:
        context: list[str] = []
        for name in _CODE.findall(cell):
            if not resolve_code_name(name, context):
                missing.append(f"{section}: `{name}`")
    assert not missing, "model.md's implementation table names code that does not exist:\n" + "\n".join(missing)


def test_implementation_table_check_catches_a_stale_name():
    assert resolve_code_name("engine.Run.s5_trading", [])
    assert not resolve_code_name("engine.Run.s11_party", [])
    assert not resolve_code_name("sweepconfig.py", [])
    ctx: list[str] = []
    assert resolve_code_name("book.py", ctx) and resolve_code_name("Book.pay", ctx)
    assert not resolve_code_name("Book.borrow", ctx)
    ctx = []
    assert resolve_code_name("tests/spec_oracle.py", ctx) and resolve_code_name("Checker", ctx)
    assert not resolve_code_name("Chequer", ctx)
    ctx = []
    assert resolve_code_name("analysis/", ctx) and resolve_code_name("usage", ctx)
