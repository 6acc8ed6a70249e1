"""The page's front-end cache: the right packages for the installed solara, filled once, clear errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("solara", reason="the `app` extra is not installed")

from aidsim.app import assets  # noqa: E402
from aidsim.model.errors import ConfigError  # noqa: E402


def test_specs_are_the_ones_solaras_page_names():
    specs = assets.required_specs()
    assert [next(s for s in specs if s.startswith(n)) for n in assets.NEEDED]  # one per needed package
    template = Path(next(iter(importlib.util.find_spec("solara").submodule_search_locations))) / "server" / "templates" / "solara.html.j2"
    text = template.read_text()
    vuetify = next(s for s in specs if s.startswith("@widgetti/solara-vuetify-app@"))
    assert f"/{vuetify}/" in text


def test_cache_dir_follows_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(assets.ENV, str(tmp_path))
    assert assets.cache_dir() == tmp_path.resolve()


def test_filled_cache_is_not_fetched_again(monkeypatch, tmp_path):
    monkeypatch.setenv(assets.ENV, str(tmp_path))
    for spec in assets.required_specs():
        (tmp_path / spec).mkdir(parents=True)
        (tmp_path / spec / "package.json").write_text("{}")
    monkeypatch.setattr(assets.shutil, "which", lambda name: pytest.fail("npm called for a filled cache"))
    assert assets.ensure(verbose=False) == tmp_path.resolve()


def test_missing_npm_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv(assets.ENV, str(tmp_path))
    monkeypatch.setattr(assets.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match=r"^npm not found: .*apt-get install npm") as err:
        assets.ensure(verbose=False)
    assert "\n" not in str(err.value)
