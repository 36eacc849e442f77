"""Brain-Score plugins made from the catalogue: render, install into brainscore_vision, package.

A plugin folder has Brain-Score's own layout::

    <family>/__init__.py                 model_registry['<name>'] = lambda: _commit('<name>')
    <family>/model.py                    get_model / get_layers / get_bibtex (+ get_model_list)
    <family>/test.py                     loads each model, looks at 3 images, checks the assembly
    <family>/requirements.txt
    <family>/region_layer_map/<name>.json

The files are *rendered* from the catalogue by :func:`render_plugin`, so the
registry lines, the region->layer maps and the catalogue cannot drift apart:
the built-in families are committed under ``model_zoo/brainscore_plugins/``
(a test checks them against a fresh rendering) and the user family
(``neuroequi_user``, the project's own checkpoints) is rendered into the zoo
home at install time.

Every ``ModelCommitment`` gets an explicit region->layer map, so scoring never
runs Brain-Score's layer selection (which downloads benchmarks), and the
identifier of the loaded weights (``<name>-<sha8>``), so Brain-Score's
activation cache follows the weights.

:func:`install` makes the plugins visible to the installed
``brainscore_vision``, whose plugin finder only scans its own
``models/*/__init__.py`` and ``benchmarks/*/__init__.py``: it symlinks each
folder there. The zoo knows no benchmarks: a higher layer passes its benchmark
plugin folders in ``extra`` (``analyses.neural.install_plugins`` does).
"""

from __future__ import annotations

import json
import re
import shutil
import string
from pathlib import Path

from model_zoo.catalogue import Entry, builtin_entries, user_entries
from model_zoo.download import zoo_home
from model_zoo.loading import LoadedModel, load
from neuroequi.errors import ConfigError

#: The committed plugin folders (built-in families).
PLUGINS_DIR = Path(__file__).resolve().parent / "brainscore_plugins"
#: Family of the project's own checkpoints, rendered into the zoo home.
USER_FAMILY = "neuroequi_user"


# --------------------------------------------------------------------------- runtime helpers
# (what the rendered plugin files call)


def wrapper(model: str | Entry | LoadedModel, home: Path | None = None):
    """Brain-Score ``PytorchWrapper`` of a model (see :func:`model_zoo.load`), identified by ``<name>-<sha8>``."""
    from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper

    from model_zoo.activations import file_preprocessing

    loaded = model if isinstance(model, LoadedModel) else load(model, home)
    activations_model = PytorchWrapper(
        identifier=loaded.identifier, model=loaded.module, preprocessing=file_preprocessing(loaded)
    )
    activations_model.image_size = loaded.image_size
    return activations_model


def commitment(
    model: str | Entry | LoadedModel, region_layer_map: dict[str, str] | None = None, home: Path | None = None
):
    """``ModelCommitment`` of a model with an explicit region->layer map (the entry's by default)."""
    from brainscore_vision.model_helpers.brain_transformation import ModelCommitment

    loaded = model if isinstance(model, LoadedModel) else load(model, home)
    activations_model = wrapper(loaded)
    return ModelCommitment(
        identifier=loaded.identifier,
        activations_model=activations_model,
        layers=list(loaded.layers),
        region_layer_map=dict(region_layer_map or loaded.region_layer_map),
    )


# --------------------------------------------------------------------------- rendering

#: The plugin files' templates (package data): ``family_*`` for the catalogue's plugins,
#: ``submission_*`` for a submission (:mod:`model_zoo.submission`), ``stimuli_fixture`` for both tests.
TEMPLATES = Path(__file__).resolve().parent / "plugin_templates"


def render_template(template: str, /, **values: object) -> str:
    """``plugin_templates/<template>.tmpl`` with every ``${key}`` replaced by ``str(values[key])``
    (:class:`string.Template`; a missing key raises KeyError)."""
    text = (TEMPLATES / f"{template}.tmpl").read_text()
    return string.Template(text).substitute({k: str(v) for k, v in values.items()})


def plugin_dirname(name: str) -> str:
    """A Python-identifier folder name for a single-model plugin (submissions, :mod:`model_zoo.submission`)."""
    return "neuroequi_" + re.sub(r"\W", "_", name.replace("-", "_").replace(".", "p"))


def render_plugin(family: str, models: list[Entry], requirement: str = "neuroequi") -> dict[str, str]:
    """Files of a plugin folder for ``models``: ``{relative path: text}``.

    ``requirement`` is the pip requirement that provides the ``model_zoo``
    package (e.g. ``neuroequi @ git+https://...@<commit>`` for a submission).
    """
    if not models:
        raise ConfigError(f"plugin {family!r} needs at least one model")
    names = [m.name for m in models]
    registrations = "\n".join(f"model_registry[{n!r}] = lambda: _commit({n!r})" for n in names)
    files = {
        "__init__.py": render_template("family_init.py", family=repr(family), registrations=registrations),
        "model.py": render_template("family_model.py", family=repr(family)),
        "catalogue.json": json.dumps({m.name: m.to_json() for m in models}, indent=2, sort_keys=True) + "\n",
        "test.py": render_template(
            "family_test.py",
            family=repr(family),
            names=repr(names),
            stimuli_fixture=render_template("stimuli_fixture.py"),
        ),
        "requirements.txt": f"{requirement}\ntorch\ntorchvision\n",
    }
    for m in models:
        files[f"region_layer_map/{m.name}.json"] = json.dumps(m.region_layer_map, indent=2) + "\n"
    return files


def write_plugin(folder: Path, files: dict[str, str]) -> Path:
    """Write rendered plugin ``files`` into ``folder`` (replacing what was there)."""
    if folder.exists():
        shutil.rmtree(folder)
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def builtin_families() -> dict[str, list[Entry]]:
    """Built-in entries grouped by plugin family."""
    families: dict[str, list[Entry]] = {}
    for entry in builtin_entries().values():
        families.setdefault(entry.family, []).append(entry)
    return families


def render_builtin_plugins() -> None:
    """(Re)write the committed plugin folders under :data:`PLUGINS_DIR` from the catalogue."""
    for family, models in builtin_families().items():
        write_plugin(PLUGINS_DIR / family, render_plugin(family, models))


# --------------------------------------------------------------------------- install


def _brainscore_root() -> Path:
    import brainscore_vision

    return Path(brainscore_vision.__file__).resolve().parent


def plugin_folders(home: Path | None = None) -> dict[str, Path]:
    """``{'models/<family>': source folder}`` that :func:`install` links (the user family rendered into ``home``)."""
    folders = {f"models/{family}": PLUGINS_DIR / family for family in builtin_families()}
    users = list(user_entries(home).values())
    if users:
        folders[f"models/{USER_FAMILY}"] = write_plugin(
            zoo_home(home) / "brainscore_plugins" / USER_FAMILY, render_plugin(USER_FAMILY, users)
        )
    return folders


def install(extra: dict[str, Path] | None = None, home: Path | None = None) -> list[Path]:
    """Symlink every model plugin folder (and ``extra``: ``{'benchmarks/<folder>': source}``) into
    the installed ``brainscore_vision``; return the links.

    Idempotent; replaces a stale link (e.g. to another checkout). Refuses to
    overwrite a real folder of Brain-Score's own.
    """
    root = _brainscore_root()
    links = []
    for rel, source in {**plugin_folders(home), **(extra or {})}.items():
        link = root / rel
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            raise ConfigError(f"{link} exists and is not a neuroequi link; not touching it")
        link.symlink_to(source, target_is_directory=True)
        links.append(link)
    return links


def uninstall(extra: tuple[str, ...] = ()) -> list[Path]:
    """Remove the links :func:`install` makes (only symlinks; ``extra``: the relative paths of
    other layers' folders, e.g. ``'benchmarks/<folder>'``); return them."""
    root = _brainscore_root()
    names = [f"models/{family}" for family in [*builtin_families(), USER_FAMILY]]
    removed = []
    for rel in [*names, *extra]:
        link = root / rel
        if link.is_symlink():
            link.unlink()
            removed.append(link)
    return removed
