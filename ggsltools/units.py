"""Angles at the public boundary: one converter from Quantities or numbers to arcsec.

Public functions take angles as `~astropy.units.Quantity` objects or as plain
numbers meaning arcsec; hot code works on plain floats in arcsec. `to_arcsec` is
the one place where the first becomes the second, with the checks and the error
message naming the argument. `row_float` reads one value of a table row as a
plain float without building a Quantity, for loops over rows; `RowReader` does
the same with one unit conversion per column, for loops over many rows of a few
tables.
"""

import functools
from collections import OrderedDict

import astropy.units as u
import numpy as np

from .exceptions import InputError

__all__ = ["row_float", "RowReader", "to_arcsec"]


def to_arcsec(value, *, name, scalar=False, positive=False, nonnegative=False, finite=True):
    """An angle (or array of angles) as plain floats in arcsec.

    Parameters
    ----------
    value : `~astropy.units.Quantity`, float or array-like
        An angle, or a plain number of arcsec.
    name : str
        The argument's name, for error messages.
    scalar : bool, optional
        Require a single value and return a float.
    positive, nonnegative : bool, optional
        Require values > 0, or >= 0.
    finite : bool, optional
        Require finite values (NaN is never accepted).

    Returns
    -------
    arcsec : float or `~numpy.ndarray`
        Float (``scalar=True``) or float64 array in arcsec.

    Raises
    ------
    InputError
        If ``value`` is not an angle, or breaks one of the requirements; the
        message names ``name`` and the value.
    """
    original = value
    if isinstance(value, u.Quantity):
        try:
            value = value.to_value(u.arcsec)
        except u.UnitConversionError:
            raise InputError(f"{name}={original} must be an angle") from None
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name}={original!r} must be an angle") from None
    if scalar and array.ndim != 0:
        raise InputError(f"{name}={original!r} must be a single angle")
    if np.any(np.isnan(array)) or (finite and not np.all(np.isfinite(array))):
        raise InputError(f"{name}={original!r} must be finite")
    if positive and np.any(array <= 0):
        raise InputError(f"{name}={original!r} must be a positive angle")
    if nonnegative and np.any(array < 0):
        raise InputError(f"{name}={original!r} must be a non-negative angle")
    return float(array) if scalar else array


@functools.lru_cache(maxsize=256)
def _factor(from_unit, to_unit):
    return 1.0 if from_unit == to_unit else float(from_unit.to(to_unit))


def row_float(row, name, *, unit=None, default=None):
    """One value of a table row as a float, converted to ``unit``.

    Reads the column's numbers directly (no Quantity is built for the value),
    which matters in loops over many rows.

    Parameters
    ----------
    row : `~astropy.table.Row` or mapping
        A row of a `~astropy.table.Table` or `~astropy.table.QTable`, or a
        mapping of names to numbers or Quantities.
    name : str
        Column name.
    unit : `~astropy.units.Unit` or str, optional
        Unit of the result; a column with a unit is converted to it, a column
        without one is taken to be in it already. Magnitude columns (``mag(AB)``)
        convert to their own unit only.
    default : float, optional
        Value for a missing column; by default a missing column is an error.

    Returns
    -------
    value : float

    Raises
    ------
    InputError
        If the column is missing (and no default is given) or its unit does not
        convert to ``unit``.
    """
    table = getattr(row, "table", None)
    columns = table.columns if table is not None else row
    if name not in columns:
        if default is not None:
            return float(default)
        raise InputError(f"the row has no column {name!r}")
    if table is None:
        value = columns[name]
        number = float(getattr(value, "value", value))
        column_unit = getattr(value, "unit", None)
    else:
        column = columns[name]
        number = (
            float(np.asarray(column)[row.index])
            if not isinstance(column, u.Quantity)
            else float(column.value[row.index])
        )
        column_unit = column.unit
    return number * _column_factor(name, column_unit, unit)


def _column_factor(name, column_unit, unit):
    """Factor from a column's unit to ``unit`` (1 when either is None)."""
    if unit is None or column_unit is None:
        return 1.0
    unit = u.Unit(unit)
    if isinstance(column_unit, u.FunctionUnitBase) and column_unit != unit:
        raise InputError(f"column {name!r} is in {column_unit}, expected {unit}")
    try:
        return _factor(column_unit, unit)
    except u.UnitConversionError:
        raise InputError(f"column {name!r} in {column_unit} does not convert to {unit}") from None


class RowReader:
    """`row_float` for loops over the rows of a few tables.

    The first read of a column finds its numbers and its unit's conversion
    factor; later reads of any row of that column index the numbers. The
    numbers are a view of the column, so values changed in place are seen; a
    column replaced (or its unit changed) is looked up again.

    Parameters
    ----------
    max_tables : int, optional
        Tables whose columns are remembered, the least recently read going first.
    """

    def __init__(self, max_tables=8):
        self.max_tables = int(max_tables)
        self._tables = OrderedDict()

    def __call__(self, row, name, *, unit=None, default=None):
        """One value of a row as a float; see `row_float` (same parameters, result and errors)."""
        table = getattr(row, "table", None)
        if table is None:
            return row_float(row, name, unit=unit, default=default)
        entry = self._tables.get(id(table))
        if entry is None or entry[0] is not table:
            entry = (table, {})
            self._tables[id(table)] = entry
            if len(self._tables) > self.max_tables:
                self._tables.popitem(last=False)
        columns = entry[1]
        key = (name, unit)
        cached = columns.get(key)
        column = table.columns.get(name)
        if (
            cached is None
            or cached[0] is not column
            or getattr(column, "unit", None) is not cached[1]
        ):
            if column is None:
                return row_float(row, name, unit=unit, default=default)
            column_unit = getattr(column, "unit", None)
            values = column.value if isinstance(column, u.Quantity) else np.asarray(column)
            cached = (column, column_unit, values, _column_factor(name, column_unit, unit))
            columns[key] = cached
        return float(cached[2][row.index]) * cached[3]
