"""Sphinx configuration of the ggsltools documentation."""

import datetime
import pathlib as _pathlib
from importlib.metadata import version as _version

from sphinx_astropy.conf.v2 import *  # noqa: F403
from sphinx_astropy.conf.v2 import exclude_patterns, extensions, rst_epilog  # noqa: F401

from ggsltools.config import schema_reference as _schema_reference

project = "ggsltools"
author = "The ggsltools developers"
copyright = f"{datetime.date.today().year}, {author}"
release = _version("ggsltools")
version = ".".join(release.split(".")[:2])

exclude_patterns += ["_build", "plugin_example"]

# No inheritance diagrams: they need graphviz, which a plain Python install lacks.
automodapi_inheritance_diagram = False
automodsumm_inherited_members = False
numpydoc_show_class_members = False

html_theme_options = {
    "github_url": "https://github.com/ggsltools/ggsltools",
    "use_edit_page_button": False,
}
html_title = f"{project} {release}"
html_static_path = ["_static"]

# The configuration reference is generated from the schema, so that it cannot
# drift from what `ggsltools.config.load_config` accepts.
_generated = _pathlib.Path(__file__).parent / "_generated"
_generated.mkdir(exist_ok=True)
_reference = _generated / "configuration_reference.rst"
_text = _schema_reference()
if not _reference.exists() or _reference.read_text() != _text:
    _reference.write_text(_text)
