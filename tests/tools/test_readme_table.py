"""The README's tier table is generated from the namespaces, and a stale one fails here."""

from __future__ import annotations

from pathlib import Path

from tvexp._tooling import readme_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_tier_table_matches_the_namespaces() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(readme_table.BEGIN) + len(readme_table.BEGIN), text.index(readme_table.END)
    assert text[start:end] == "\n" + readme_table.tier_table(), (
        "README.md's tier table is stale: run `python -m tvexp._tooling.readme_table`"
    )


def test_every_public_name_is_in_the_table() -> None:
    import tvexp.prototype
    import tvexp.prototype.losses
    import tvexp.stable.functional

    table = readme_table.tier_table()
    for module in (tvexp.stable.functional, tvexp.prototype, tvexp.prototype.losses):
        for name in module.__all__:
            assert f"`{name}`" in table, name


def test_update_rewrites_only_the_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{readme_table.BEGIN}\n| stale |\n{readme_table.END}\noutro\n", encoding="utf-8")
    assert readme_table.update_readme(readme)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith(f"{readme_table.END}\noutro\n") and "| stale |" not in text
    assert not readme_table.update_readme(readme), "a second run changes nothing"
