"""The checker: real definitions pass; each kind of broken definition is named."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows import FlowDefinitionError, check_all
from flows.definitions import Library
from flows.i18n import LOCALE_DIR, Catalogs

DEFS = Path(__file__).parent / "defs"


def test_the_real_definitions_have_no_problems() -> None:
    assert check_all() == []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("dangling", "dangling.toml: node 'menu': exit 'option 1' goes to unknown 'nowhere'"),
        ("dangling", "dangling.toml: node 'menu': exit 'option 2' goes to unknown 'flow:nothing'"),
        ("unreachable", "unreachable.toml: node 'orphan': unreachable from start"),
        (
            "missing_translation",
            "missing_translation.toml: node 'menu' (sw): missing translation 'menu.no_such_key'",
        ),
        ("overlong", "overlong.toml: node 'terms' (en): screen does not fit 178 characters"),
        ("overlong", "overlong.toml: node 'terms' (fr): screen does not fit 178 characters"),
        ("overlong", "overlong.toml: node 'done' (sw): screen does not fit 178 characters"),
        ("unknown_type", "unknown_type.toml: node 'menu': unknown node type 'carousel'"),
        ("missing_exit", "missing_exit.toml: node 'fetch': missing exit 'none'"),
        ("missing_exit", "missing_exit.toml: node 'fetch': unexpected exit 'bogus'"),
        ("bad_arg", "bad_arg.toml: node 'pay': request_payout has no argument 'phone'"),
        ("bad_arg", "bad_arg.toml: node 'done': unknown field 'txt' for end"),
        ("bad_arg", "bad_arg.toml: node 'done': end needs 'text'"),
        ("loop", "loop.toml: node 'a': loops without waiting"),
        ("bad_choices", "bad_choices.toml: node 'pick': menu 'choices' must start vars."),
        ("bad_choices", "bad_choices.toml: node 'pick': a menu with choices needs 'choice_var'"),
        ("bad_choices", "bad_choices.toml: node 'pick': a menu with choices needs a 'choose' exit"),
        ("strict", "strict.toml: node 'terms' (en): screen has 162 characters with typical"),
    ],
)
def test_the_checker_names_each_problem(case: str, expected: str) -> None:
    problems = check_all(DEFS / case)
    assert any(p.startswith(expected) for p in problems), problems


def test_loading_bad_definitions_raises_with_every_problem() -> None:
    with pytest.raises(FlowDefinitionError) as info:
        Library.load(DEFS / "dangling")
    assert len(info.value.details) == 2 and "nowhere" in info.value.message


def test_invalid_toml_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("[flow\nstart=")
    assert check_all(tmp_path)[0].startswith("broken.toml: not valid TOML")


def _catalog_copy(tmp_path: Path) -> Path:
    shutil.copytree(LOCALE_DIR, tmp_path / "locales")
    return tmp_path / "locales"


def test_the_checker_finds_a_missing_translation_in_one_language(tmp_path: Path) -> None:
    locales = _catalog_copy(tmp_path)
    sw = locales / "sw.toml"
    sw.write_text(sw.read_text().replace('task = "Pata kazi"\n', ""))
    problems = check_all(locale_dir=locales)
    assert "locales/sw.toml: missing translation 'menu.task'" in problems
    assert "menu.toml: node 'menu' (sw): missing translation 'menu.task'" in problems


def test_the_checker_finds_placeholder_and_alphabet_mistakes(tmp_path: Path) -> None:
    locales = _catalog_copy(tmp_path)
    fr = locales / "fr.toml"
    text = fr.read_text().replace("Solde: {balance}.", "Solde: {solde}.")
    fr.write_text(text.replace('help = "Aide"', 'help = "Aide reçue"'))
    problems = check_all(locale_dir=locales)
    assert "locales/fr.toml: 'withdraw.offer' placeholders differ from en" in problems
    assert "locales/fr.toml: 'menu.help' has non-GSM-7 'ç'" in problems


def test_the_checker_finds_a_missing_engine_message(tmp_path: Path) -> None:
    locales = _catalog_copy(tmp_path)
    for lang in ("en", "sw", "fr"):
        path = locales / f"{lang}.toml"
        lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("zero =")]
        path.write_text("\n".join(lines))
    assert "locales/en.toml: missing engine message 'error.zero'" in check_all(locale_dir=locales)


def test_every_catalog_string_is_gsm7_and_complete() -> None:
    catalogs = Catalogs.load()
    assert catalogs.problems() == []
    assert (
        set(catalogs.messages["en"]) == set(catalogs.messages["sw"]) == set(catalogs.messages["fr"])
    )


BANNED = (
    "flask",
    "sqlalchemy",
    "rq",
    "redis",
    "requests",
    "urllib3",
    "http",
    "socket",
    "psycopg",
    "africastalking",
    "twilio",
    "core.kvstore",
)


def test_flows_imports_no_io_library() -> None:
    # At run time, transitively; tests/test_architecture.py checks the source statically.
    code = (
        "import sys, flows, flows.check, flows.sms, flows.engine\n"
        "flows.check_all()\n"
        f"bad = [m for m in sys.modules if m in {BANNED!r} or m.split('.')[0] in {BANNED!r}]\n"
        "print(','.join(sorted(bad)))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_python_m_flows_exits_zero_on_the_real_definitions() -> None:
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "flows"], cwd=root, capture_output=True, text=True)
    assert (out.returncode, out.stdout) == (0, "")


def test_main_reports_problems_and_fails(monkeypatch, capsys) -> None:
    import flows.check

    monkeypatch.setattr(flows.check, "check_all", lambda: ["a.toml: node 'x': broken"])
    assert flows.check.main() == 1
    assert capsys.readouterr().out == "a.toml: node 'x': broken\n"
