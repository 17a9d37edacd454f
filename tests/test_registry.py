"""The registry wrapper: listing imports no plugin, broken plugins are isolated, duplicates are
refused, built-ins win over plugins, unknown names get suggestions."""
import sys
import textwrap
import warnings

import pytest

import loopzoo
from loopzoo.errors import LoopzooWarning, RegistryError, UnknownNameError
from loopzoo.registry import REGISTRIES, Registry, norms


def make_plugin(root, dist, module, group, entries, source):
    """A fake installed distribution: a module plus ``dist-info`` with entry points."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {module}:{attr}" for name, attr in entries.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}\n")


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    make_plugin(tmp_path, "good_plug", "good_plug", "loopzoo_norms", {"scalenorm": "make", "prenorm": "shadow"}, """
        import torch
        def make(width):
            return torch.nn.Identity()
        def shadow(width):
            raise AssertionError("the built-in must win")
    """)
    make_plugin(tmp_path, "broken_plug", "broken_plug", "loopzoo_norms", {"brokennorm": "make"}, """
        raise ImportError("this plugin is broken on purpose")
    """)
    yield tmp_path
    for mod in ("good_plug", "broken_plug"):
        sys.modules.pop(mod, None)


def test_listing_names_imports_no_plugin(plugins):
    names = norms.names()
    assert {"scalenorm", "brokennorm", "prenorm", "outernorm"} <= set(names)
    assert "good_plug" not in sys.modules and "broken_plug" not in sys.modules


def test_plugin_loads_and_reports_its_source(plugins):
    assert norms.get("scalenorm")(8) is not None
    assert norms.source("scalenorm") == "good_plug 1.0"
    assert norms.source("prenorm") == "loopzoo (built-in)"


def test_broken_plugin_is_isolated_with_one_warning(plugins):
    with pytest.warns(LoopzooWarning, match="broken_plug"):
        with pytest.raises(UnknownNameError, match="failed to import"):
            norms.get("brokennorm")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        with pytest.raises(UnknownNameError):
            norms.get("brokennorm")
        assert norms.get("outernorm") is not None  # other names keep working
        with pytest.raises(UnknownNameError) as info:
            norms.get("outrnorm")
    assert "outernorm" in info.value.suggestions
    assert "brokennorm" not in info.value.available


def test_builtin_wins_over_plugin_with_warning(plugins):
    with pytest.warns(LoopzooWarning, match="built-in is used"):
        factory = norms.get("prenorm")
    assert factory(8).n1 is not None


def test_registering_a_taken_name_raises():
    registry = Registry("testkind-dup")
    registry.register("a", func=lambda: 1)
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("a", func=lambda: 2)
    assert registry.get("a")() == 1


def test_decorator_registration_and_unknown_name_message():
    registry = Registry("testkind-deco")

    @registry.register("alpha-beta")
    def factory():
        return 42

    assert registry.get("alpha-beta")() == 42
    with pytest.raises(UnknownNameError) as info:
        registry.get("alpha-bta")
    message = str(info.value)
    assert "Did you mean: alpha-beta?" in message and "Available testkind-deco: alpha-beta" in message
    assert isinstance(info.value, loopzoo.LoopzooError) and isinstance(info.value, LookupError)


def test_every_kind_has_a_registry_with_its_entry_point_group():
    assert {"tasks", "recalls", "norms", "cells", "models", "halting"} <= set(REGISTRIES)
    for kind, registry in REGISTRIES.items():
        assert registry.group == f"loopzoo_{kind}"


@pytest.mark.subprocess
def test_import_loopzoo_does_not_import_torch():
    import subprocess

    code = "import sys, loopzoo; loopzoo.list_models(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
