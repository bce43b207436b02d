"""The plugin registry: built-in and third-party components found through entry points.

Every component kind has an entry-point group; a distribution (ggsltools itself or
a third-party package) declares its implementations in its ``pyproject.toml``::

    [project.entry-points."ggsltools.lens_models"]
    my-format = "my_package.lens:MyLensModel"

Discovery reads the entry-point metadata only: nothing is imported until a plugin
is asked for by name (`get_plugin`) or the full table is requested
(`plugin_table`). The entry points of a group are read once and cached;
`refresh` reads them again (after installing a package in a running session, for
example). Every function that takes a plugin name also takes the plugin class or
an instance of it, which are returned unchanged after checking their interface.
"""

import functools
import logging
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points

from astropy.table import Table

from .exceptions import PluginError, PluginWarning
from .interfaces import Classifier, Injector, LensModel, SourcePopulation, Trainer

__all__ = [
    "KINDS",
    "PluginInfo",
    "available_plugins",
    "get_plugin",
    "list_plugins",
    "plugin_table",
    "refresh",
]

log = logging.getLogger("ggsltools")

#: Plugin kinds: kind -> (entry-point group, interface every plugin subclasses).
KINDS = {
    "lens_models": ("ggsltools.lens_models", LensModel),
    "sources": ("ggsltools.sources", SourcePopulation),
    "injectors": ("ggsltools.injectors", Injector),
    "classifiers": ("ggsltools.classifiers", Classifier),
    "trainers": ("ggsltools.trainers", Trainer),
}


@dataclass(frozen=True)
class PluginInfo:
    """What the entry-point metadata says about one plugin, before it is imported.

    Attributes
    ----------
    kind : str
        One of `KINDS`.
    name : str
        The name users ask for.
    value : str
        The object the entry point names, ``module:attribute``.
    distribution : str
        The distribution that declares the entry point.
    version : str
        The version of that distribution.
    """

    kind: str
    name: str
    value: str
    distribution: str
    version: str

    @property
    def origin(self):
        """``distribution==version``, as error messages name a plugin's origin."""
        return f"{self.distribution}=={self.version}"


def _check_kind(kind):
    if kind not in KINDS:
        raise PluginError(f"unknown plugin kind {kind!r}; the kinds are {', '.join(KINDS)}")
    return KINDS[kind]


@functools.cache
def _entry_points(kind):
    """Name -> (EntryPoint, PluginInfo) for one kind, duplicates resolved with a warning."""
    group, _ = _check_kind(kind)
    found = {}
    # Sorted by distribution name so that the winner of a name clash does not
    # depend on the order of sys.path.
    eps = sorted(
        entry_points(group=group),
        key=lambda ep: (ep.name, ep.dist.name if ep.dist else ""),
    )
    for ep in eps:
        dist = ep.dist.name if ep.dist is not None else "unknown"
        version = ep.dist.version if ep.dist is not None else "unknown"
        info = PluginInfo(kind, ep.name, ep.value, dist, version)
        if ep.name in found:
            kept = found[ep.name][1]
            if kept.value == info.value:
                continue  # the same distribution seen twice on sys.path
            warnings.warn(
                f"{kind} plugin {ep.name!r} is declared by {kept.origin} ({kept.value}) "
                f"and by {info.origin} ({info.value}); using the one from {kept.origin}",
                PluginWarning,
                stacklevel=3,
            )
            continue
        found[ep.name] = (ep, info)
    return found


@functools.cache
def _load(kind, name):
    """Import one plugin and check that it implements its interface."""
    ep, info = _entry_points(kind)[name]
    interface = KINDS[kind][1]
    try:
        obj = ep.load()
    except Exception as exc:
        raise PluginError(
            f"{kind} plugin {name!r} ({info.value} from {info.origin}) failed to load: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not (isinstance(obj, type) and issubclass(obj, interface)):
        raise PluginError(
            f"{kind} plugin {name!r} ({info.value} from {info.origin}) is "
            f"{obj!r}, not a subclass of {interface.__module__}.{interface.__name__}"
        )
    log.debug("loaded %s plugin %r from %s", kind, name, info.origin)
    return obj


def refresh():
    """Forget the cached entry points and loaded plugins; read them again on next use."""
    _entry_points.cache_clear()
    _load.cache_clear()


def available_plugins(kind):
    """Describe the plugins of one kind without importing any of them.

    Parameters
    ----------
    kind : str
        One of `KINDS`.

    Returns
    -------
    plugins : dict of str to `PluginInfo`
        Plugin name to its entry-point metadata, sorted by name.
    """
    return {name: info for name, (_, info) in _entry_points(kind).items()}


def get_plugin(kind, plugin):
    """Return a plugin class by name, or check a class or instance given directly.

    Parameters
    ----------
    kind : str
        One of `KINDS`.
    plugin : str, type or object
        A registered plugin name, a class implementing the kind's interface, or an
        instance of such a class.

    Returns
    -------
    plugin : type or object
        The class registered under that name, or ``plugin`` itself when a class or
        instance was given.

    Raises
    ------
    PluginError
        If no plugin of that name is installed (the message lists the installed
        ones), if it fails to import, or if it does not implement the interface.
    """
    _, interface = _check_kind(kind)
    if isinstance(plugin, str):
        known = _entry_points(kind)
        if plugin not in known:
            installed = ", ".join(sorted(known)) or "none"
            raise PluginError(
                f"no {kind} plugin named {plugin!r}; installed {kind} plugins: {installed}"
            )
        return _load(kind, plugin)
    if isinstance(plugin, type) and issubclass(plugin, interface):
        return plugin
    if isinstance(plugin, interface):
        return plugin
    raise PluginError(
        f"{plugin!r} is neither a {kind} plugin name nor a {interface.__name__} class or instance"
    )


def list_plugins(kind):
    """Load every plugin of one kind, skipping the broken ones with a warning.

    Parameters
    ----------
    kind : str
        One of `KINDS`.

    Returns
    -------
    plugins : dict of str to type
        Name to class, for the plugins that load and implement the interface.

    Warns
    -----
    PluginWarning
        For each plugin that fails to load, naming it, its ``distribution==version``
        and the error.
    """
    loaded = {}
    for name in _entry_points(kind):
        try:
            loaded[name] = _load(kind, name)
        except PluginError as exc:
            warnings.warn(f"skipping {exc}", PluginWarning, stacklevel=2)
    return loaded


def plugin_table(kind=None):
    """A table of the installed plugins and whether each one loads.

    Parameters
    ----------
    kind : str, optional
        Restrict the table to one of `KINDS`; all kinds by default.

    Returns
    -------
    table : `~astropy.table.Table`
        Columns ``kind``, ``name``, ``object``, ``distribution``, ``version``,
        ``status`` ("ok" or the load error) and ``description`` (the plugin's
        ``description`` attribute), one row a plugin. A broken plugin is a row
        with its error, never an exception.
    """
    kinds = [kind] if kind is not None else list(KINDS)
    rows = []
    for k in kinds:
        for name, info in available_plugins(k).items():
            try:
                description = _load(k, name).description
                status = "ok"
            except PluginError as exc:
                description = ""
                status = str(exc.__cause__ or exc)
                if exc.__cause__ is not None:
                    status = f"{type(exc.__cause__).__name__}: {status}"
            rows.append((k, name, info.value, info.distribution, info.version, status, description))
    names = ("kind", "name", "object", "distribution", "version", "status", "description")
    if not rows:
        return Table(names=names, dtype=[str] * len(names))
    return Table(rows=rows, names=names)
