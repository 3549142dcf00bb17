"""Every plugin folder has a README with the sections CONVENTIONS.md asks for and a TOML example
for its table. (Each plugin's own e2e file runs its README example through `petdns check`.)"""
import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PLUGINS = sorted(p for p in (REPO / "plugins").iterdir() if (p / "CMakeLists.txt").exists())
SECTIONS = ["Name", "Description", "Syntax", "Metrics", "Examples"]


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_readme_has_every_section_and_an_example(plugin):
    readme = plugin / "README.md"
    assert readme.exists(), f"{plugin.name} has no README.md"
    text = readme.read_text()
    headings = re.findall(r"^## (\w+)", text, re.M)
    for section in SECTIONS:
        assert section in headings, f"{readme}: no '## {section}'"
    assert re.search(r"```toml\n.*?\[server\." + plugin.name + r"\]", text, re.S), \
        f"{readme}: no TOML example for [server.{plugin.name}]"
