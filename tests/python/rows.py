"""Rows as comparable text, shared by the scripts that compare tables."""

import datetime
import math

# Pipeline columns say when and from where a row was staged; two deliveries of
# one record differ there, so comparisons leave them out.
PIPELINE = {"row_refreshed_at", "row_refreshed_at_day", "shard_id"}


def normal(v):
    """A value as comparable text: timestamps as naive UTC, NaN as a word."""
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else repr(v)
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return v.isoformat()
    if isinstance(v, datetime.date):
        return v.isoformat()
    return repr(v)


def rows(dicts, columns):
    """Sorted tuples of the normalised values of `columns`."""
    return sorted(tuple(normal(d[c]) for c in columns) for d in dicts)
