"""Larder's Python SDK: Feast's FeatureStore API over Larder's C++ engine.

    from larder import FeatureStore
    store = FeatureStore(repo_path=".")
    job = store.get_historical_features(entity_df=df, features=store.get_feature_service("model_v4"))
    training = job.to_df()

This package is a thin layer: it checks argument types, reshapes arguments
and results, and calls the extension module larder._larder, which calls
liblarder. Every engine decision (validation, point-in-time joins, coercion
to declared dtypes, online reads) is made in C++. See docs/python-sdk.md.
"""

from __future__ import annotations

import datetime as _dt
import enum as _enum
import os as _os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import _larder
from .errors import (
    AlreadyExistsError,
    BusyError,
    CorruptionError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    LarderError,
    LarderIOError,
    NotFoundError,
)

# The version of liblarder this module was built from (the file VERSION).
__version__ = _larder.__version__

_UTC = _dt.timezone.utc
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_UTC)


# --- Definitions, as registered (light, read-only views of the C++ objects) --


@dataclass(frozen=True)
class Field:
    name: str
    dtype: str  # Larder's dtype name, as in the repo's YAML ("Int64", "Array(Float32)")
    description: str = ""


@dataclass(frozen=True)
class Entity:
    name: str
    join_keys: List[str]
    value_type: str
    description: str = ""
    tags: Dict[str, str] = field(default_factory=dict)
    owner: str = ""

    @property
    def join_key(self) -> str:
        return self.join_keys[0]


@dataclass(frozen=True)
class FeatureView:
    name: str
    entities: List[str]
    ttl: _dt.timedelta
    schema: List[Field]
    entity_columns: List[Field]
    source: str
    online: bool = True
    description: str = ""
    tags: Dict[str, str] = field(default_factory=dict)
    owner: str = ""
    # The outputs of the view's window aggregations (name and output dtype).
    aggregations: List[Field] = field(default_factory=list)

    @property
    def features(self) -> List[Field]:
        """schema's features, then the aggregations' outputs, as a feature
        service that names the whole view gets them."""
        return self.schema + self.aggregations


@dataclass(frozen=True)
class FeatureViewProjection:
    name: str  # the feature view
    features: List[str]  # empty: every feature of the view


@dataclass(frozen=True)
class FeatureService:
    name: str
    feature_view_projections: List[FeatureViewProjection]
    description: str = ""
    tags: Dict[str, str] = field(default_factory=dict)
    owner: str = ""


class PushMode(_enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"
    ONLINE_AND_OFFLINE = "online_and_offline"


# --- Results -----------------------------------------------------------------


class OnlineResponse:
    """The result of get_online_features: one column per join key and feature."""

    def __init__(self, columns: list):
        # (name, values, statuses, event_timestamps) per column.
        self._columns = columns

    def to_dict(self, include_event_timestamps: bool = False) -> Dict[str, List[Any]]:
        out: Dict[str, List[Any]] = {}
        for name, values, _statuses, timestamps in self._columns:
            out[name] = list(values)
            # Join key columns carry no timestamps (all the epoch).
            if include_event_timestamps and any(t != _EPOCH for t in timestamps):
                out[name + "__ts"] = list(timestamps)
        return out

    def to_df(self, include_event_timestamps: bool = False):
        import pandas as pd

        return pd.DataFrame(self.to_dict(include_event_timestamps))

    @property
    def statuses(self) -> Dict[str, List[str]]:
        """Per column, Feast's FieldStatus names: PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE."""
        return {name: list(statuses) for name, _v, statuses, _t in self._columns}

    @property
    def event_timestamps(self) -> Dict[str, List[_dt.datetime]]:
        return {name: list(ts) for name, _v, _s, ts in self._columns}


class RetrievalJob:
    """Training data, computed by DuckDB each time a result is asked for."""

    def __init__(self, job, full_feature_names: bool):
        self._job = job
        self.full_feature_names = full_feature_names

    @property
    def columns(self) -> List[str]:
        return list(self._job.column_names)

    @property
    def sql(self) -> str:
        """The DuckDB query of the point-in-time join (for explaining)."""
        return self._job.sql

    def to_arrow_reader(self):
        """The result as a pyarrow.RecordBatchReader, batches computed as read."""
        import pyarrow as pa

        return pa.RecordBatchReader._import_from_c_capsule(self._job.arrow_stream())

    def to_arrow(self):
        """The result as a pyarrow.Table (through the Arrow C stream interface)."""
        return self.to_arrow_reader().read_all()

    def to_df(self):
        """The result as a pandas DataFrame."""
        return self.to_arrow().to_pandas()

    def to_parquet(self, path: Union[str, "_os.PathLike[str]"]) -> int:
        """Writes the result to a Parquet file (streamed by DuckDB); returns the row count."""
        return self._job.write_to_file(_path_arg(path, "path", ".parquet"))

    def to_csv(self, path: Union[str, "_os.PathLike[str]"]) -> int:
        return self._job.write_to_file(_path_arg(path, "path", ".csv"))


# --- Argument checks ---------------------------------------------------------


def _type_error(method: str, arg: str, expected: str, value: Any) -> TypeError:
    return TypeError(f"{method}(): argument '{arg}' must be {expected}, not {type(value).__name__}")


def _path_arg(path, arg: str, suffix: str) -> str:
    if not isinstance(path, (str, _os.PathLike)):
        raise _type_error("to_parquet" if suffix == ".parquet" else "to_csv", arg, "a path", path)
    text = _os.fspath(path)
    if not text.endswith(suffix):
        raise InvalidArgumentError(f"{arg} {text!r}: expected a file ending in {suffix}")
    return text


def _micros(value, method: str, arg: str) -> int:
    if not isinstance(value, _dt.datetime):
        raise _type_error(method, arg, "a datetime", value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)  # naive means UTC, as in `larder materialize`
    return (value - _EPOCH) // _dt.timedelta(microseconds=1)


def _views_arg(views, method: str) -> List[str]:
    if views is None:
        return []
    if isinstance(views, str) or not isinstance(views, Iterable):
        raise _type_error(method, "feature_views", "a list of feature view names", views)
    out = []
    for v in views:
        if isinstance(v, FeatureView):
            out.append(v.name)
        elif isinstance(v, str):
            out.append(v)
        else:
            raise _type_error(method, "feature_views", "a list of feature view names", v)
    return out


def _features_arg(features, method: str):
    """(feature references, feature service name)."""
    if isinstance(features, FeatureService):
        return [], features.name
    if isinstance(features, str) or not isinstance(features, Iterable):
        raise _type_error(method, "features", 'a list of "view:feature" strings or a FeatureService',
                          features)
    refs = list(features)
    for r in refs:
        if not isinstance(r, str):
            raise _type_error(method, "features", 'a list of "view:feature" strings', r)
    return refs, ""


def _entity_columns(entity_rows, method: str) -> Dict[str, list]:
    """A list of entity dicts (all with the same keys) as join key -> values."""
    if isinstance(entity_rows, Mapping) or not isinstance(entity_rows, Iterable):
        raise _type_error(method, "entity_rows", "a list of dicts", entity_rows)
    columns: Dict[str, list] = {}
    for i, row in enumerate(list(entity_rows)):
        if not isinstance(row, Mapping):
            raise _type_error(method, "entity_rows", "a list of dicts", row)
        if i > 0 and set(row) != set(columns):
            raise InvalidArgumentError(
                f"entity_rows[{i}]: keys {sorted(row)} differ from entity_rows[0]'s "
                f"{sorted(columns)}")
        for k, v in row.items():
            columns.setdefault(k, []).append(v)
    return columns


def _to_arrow_table(df, method: str, arg: str):
    import pyarrow as pa

    if isinstance(df, pa.Table):
        return df
    if isinstance(df, pa.RecordBatchReader):
        return df.read_all()
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(df, pd.DataFrame):
        return pa.Table.from_pandas(df, preserve_index=False)
    if hasattr(df, "__arrow_c_stream__"):
        return pa.table(df)
    raise _type_error(method, arg, "a pandas DataFrame or a pyarrow Table", df)


def _columns_arg(df, method: str, arg: str = "df"):
    """Pushed rows: a DataFrame or Table as an Arrow C stream capsule (read by the
    engine), or a dict of column lists (as in Feast's JSON), converted by the module."""
    if isinstance(df, Mapping):
        cols = {}
        for k, v in df.items():
            if not isinstance(k, str):
                raise _type_error(method, arg, "a mapping of str column names", k)
            cols[k] = list(v)
        return cols
    return _to_arrow_table(df, method, arg).__arrow_c_stream__()


# --- The feature store -------------------------------------------------------


class FeatureStore:
    """One feature repo (the directory holding feature_store.yaml) and its registry.

    Not thread-safe in Feast either; here calls on one FeatureStore from several
    threads are serialised, and each releases the GIL while the engine works.
    """

    def __init__(self, repo_path: Union[str, "_os.PathLike[str]", None] = None):
        if repo_path is None:
            repo_path = "."
        if not isinstance(repo_path, (str, _os.PathLike)):
            raise _type_error("FeatureStore", "repo_path", "a path", repo_path)
        self._repo_path = _os.fspath(repo_path)
        self._store = _larder.Store(self._repo_path)

    @property
    def repo_path(self) -> str:
        return self._store.repo_root

    @property
    def project(self) -> str:
        return self._store.project

    def __repr__(self) -> str:
        return f"FeatureStore(repo_path={self._repo_path!r})"

    def close(self) -> None:
        """Closes the registry and the online store; later calls raise FailedPreconditionError.

        The embedded RocksDB online store admits one process at a time: close a
        FeatureStore before another process (`larder online`, `larder serve`) opens it.
        """
        self._store.close()

    def __enter__(self) -> "FeatureStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Registry

    def plan(self) -> List[dict]:
        """What apply() would change: dicts with type, kind, name and description."""
        return self._store.plan()

    def apply(self) -> dict:
        """Registers the repo's definitions; returns {"version", "changes"}."""
        return self._store.apply()

    def _registered(self) -> dict:
        return self._store.registered()

    @staticmethod
    def _tags_match(obj, tags: Optional[Dict[str, str]]) -> bool:
        return not tags or all(obj.tags.get(k) == v for k, v in tags.items())

    def list_entities(self, allow_cache: bool = False, tags: Optional[Dict[str, str]] = None
                      ) -> List[Entity]:
        out = [Entity(**e) for e in self._registered()["entities"]]
        return [e for e in out if self._tags_match(e, tags)]

    def list_feature_views(self, allow_cache: bool = False, tags: Optional[Dict[str, str]] = None
                           ) -> List[FeatureView]:
        out = []
        for v in self._registered()["feature_views"]:
            v = dict(v)
            v["ttl"] = _dt.timedelta(seconds=v.pop("ttl_seconds"))
            v["schema"] = [Field(**f) for f in v["schema"]]
            v["entity_columns"] = [Field(**f) for f in v["entity_columns"]]
            v["aggregations"] = [Field(**f) for f in v["aggregations"]]
            out.append(FeatureView(**v))
        return [v for v in out if self._tags_match(v, tags)]

    def list_feature_services(self, allow_cache: bool = False,
                              tags: Optional[Dict[str, str]] = None) -> List[FeatureService]:
        out = []
        for s in self._registered()["feature_services"]:
            s = dict(s)
            projections = [FeatureViewProjection(name=i["feature_view"], features=i["features"])
                           for i in s.pop("features")]
            out.append(FeatureService(feature_view_projections=projections, **s))
        return [s for s in out if self._tags_match(s, tags)]

    def get_entity(self, name: str) -> Entity:
        return self._get(self.list_entities(), name, "entity")

    def get_feature_view(self, name: str) -> FeatureView:
        return self._get(self.list_feature_views(), name, "feature view")

    def get_feature_service(self, name: str) -> FeatureService:
        return self._get(self.list_feature_services(), name, "feature service")

    @staticmethod
    def _get(objects, name, kind):
        if not isinstance(name, str):
            raise _type_error(f"get_{kind.replace(' ', '_')}", "name", "a str", name)
        for o in objects:
            if o.name == name:
                return o
        raise NotFoundError(f"{kind} '{name}' is not registered")

    # Online

    def get_online_features(self, features, entity_rows: Sequence[Mapping[str, Any]],
                            full_feature_names: bool = False) -> OnlineResponse:
        refs, service = _features_arg(features, "get_online_features")
        columns = _entity_columns(entity_rows, "get_online_features")
        if not isinstance(full_feature_names, bool):
            raise _type_error("get_online_features", "full_feature_names", "a bool",
                              full_feature_names)
        return OnlineResponse(
            self._store.get_online_features(refs, service, columns, full_feature_names))

    def materialize(self, start_date: _dt.datetime, end_date: _dt.datetime,
                    feature_views: Optional[Sequence[str]] = None) -> List[dict]:
        """Loads start_date <= event_timestamp < end_date into the online store."""
        return self._store.materialize(_micros(start_date, "materialize", "start_date"),
                                       _micros(end_date, "materialize", "end_date"),
                                       _views_arg(feature_views, "materialize"))

    def materialize_incremental(self, end_date: _dt.datetime,
                                feature_views: Optional[Sequence[str]] = None) -> List[dict]:
        """As materialize, each view from its watermark (or end_date - ttl)."""
        return self._store.materialize_incremental(
            _micros(end_date, "materialize_incremental", "end_date"),
            _views_arg(feature_views, "materialize_incremental"))

    def push(self, push_source_name: str, df, allow_registry_cache: bool = True,
             to: Union[str, PushMode] = PushMode.ONLINE, transform_on_write: bool = True) -> dict:
        """Writes rows to a push source: to the online store (Feast's default), its offline
        history, or both. Arguments are Feast's, in Feast's order.

        Event times later than now plus push_max_future_skew (feature_store.yaml, default
        1 day) are refused. Pushing the same rows again is safe: the offline history keeps
        distinct rows and online writes keep the newest row per key, so a push that failed
        or was interrupted can be retried until it succeeds.
        """
        if not isinstance(push_source_name, str):
            raise _type_error("push", "push_source_name", "a str", push_source_name)
        for name, flag in (("allow_registry_cache", allow_registry_cache),
                           ("transform_on_write", transform_on_write)):
            if not isinstance(flag, bool):
                raise _type_error("push", name, "a bool", flag)
        if isinstance(to, PushMode):
            to = to.value
        elif isinstance(to, _enum.Enum):  # Feast's PushMode
            to = to.name.lower()
        elif not isinstance(to, str):
            raise _type_error("push", "to", 'a PushMode or "online", "offline", '
                              '"online_and_offline"', to)
        return self._store.push(push_source_name, _columns_arg(df, "push"), to)

    def write_to_online_store(self, feature_view_name: str, df,
                              allow_registry_cache: bool = True) -> dict:
        if not isinstance(feature_view_name, str):
            raise _type_error("write_to_online_store", "feature_view_name", "a str",
                              feature_view_name)
        return self._store.write_to_online_store(
            feature_view_name, _columns_arg(df, "write_to_online_store"))

    def delete_from_online_store(self, entity_rows: Sequence[Mapping[str, Any]],
                                 feature_views: Optional[Sequence[str]] = None) -> dict:
        """Deletes the online records of entity rows (Feast has no such call).

        entity_rows: a list of dicts, one per entity, of join key -> value (as for
        get_online_features). feature_views: the views to delete from; by default every
        online view whose join keys are exactly the given ones. A deleted key reads
        NOT_FOUND until a later push, write or materialization writes it again.
        Returns {"entities": n, "feature_views": [names]}.
        """
        columns = _entity_columns(entity_rows, "delete_from_online_store")
        return self._store.delete_from_online_store(
            columns, _views_arg(feature_views, "delete_from_online_store"))

    # Offline

    def get_historical_features(self, entity_df=None, features=None,
                                full_feature_names: bool = False) -> RetrievalJob:
        """Point-in-time correct training data (semantics: include/larder/offline_store.h).

        entity_df: a SQL query (str) run in the offline store database, or a pandas
        DataFrame / pyarrow Table, handed to the engine as an Arrow C stream.
        """
        import pyarrow as pa

        refs, service = _features_arg(features, "get_historical_features")
        if not isinstance(full_feature_names, bool):
            raise _type_error("get_historical_features", "full_feature_names", "a bool",
                              full_feature_names)
        if isinstance(entity_df, str):
            job = self._store.get_historical_features(entity_df, None, refs, service,
                                                      full_feature_names)
            return RetrievalJob(job, full_feature_names)
        table = _to_arrow_table(entity_df, "get_historical_features", "entity_df")
        # Nanosecond timestamps (pandas' unit) to microseconds, the engine's.
        fields = []
        for f in table.schema:
            if pa.types.is_timestamp(f.type) and f.type.unit == "ns":
                f = f.with_type(pa.timestamp("us", tz=f.type.tz))
            fields.append(f)
        schema = pa.schema(fields)
        if schema != table.schema:
            table = table.cast(schema, safe=False)
        capsule = table.__arrow_c_stream__()
        job = self._store.get_historical_features("", capsule, refs, service, full_feature_names)
        return RetrievalJob(job, full_feature_names)


__all__ = [
    "FeatureStore",
    "Entity",
    "Field",
    "FeatureView",
    "FeatureViewProjection",
    "FeatureService",
    "PushMode",
    "OnlineResponse",
    "RetrievalJob",
    "LarderError",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "FailedPreconditionError",
    "BusyError",
    "LarderIOError",
    "CorruptionError",
    "InternalError",
]
