"""Hydra config source for the `spec` group: `+spec=NAME` -> `./specs/NAME.yaml`, else the packaged one.

Spec files live in a directory named `specs/` (plural, one file per spec) while the Hydra group is
`spec`, so the stock `file://` source cannot serve them. This source maps group `spec` onto one
directory of spec files. Its path is either a directory (relative paths are resolved against the
current directory at lookup time) or `pkg:MODULE` for specs shipped inside a package (a wheel).
"""

from __future__ import annotations

import io
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import yaml
from hydra.core.object_type import ObjectType
from hydra.plugins.config_source import ConfigLoadError, ConfigResult, ConfigSource
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

GROUP = "spec"
SCHEME = "crawlspec-specs"
PACKAGE_PREFIX = "pkg:"


class _DatesAsTextLoader(yaml.SafeLoader):
    """Unquoted dates stay text, as OmegaConf reads them: an impossible one (`2024-02-30`) is then
    reported by the validator under its key, like its quoted form."""


_DatesAsTextLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)  # type: ignore[type-var]  # the stubs want the loader itself; any SafeLoader works


class SpecDirConfigSource(ConfigSource):
    """Serves `spec/NAME` from `<root>/NAME.yaml`; nothing else."""

    @staticmethod
    def scheme() -> str:
        return SCHEME

    def _root(self) -> Traversable | None:
        if self.path.startswith(PACKAGE_PREFIX):
            try:
                return resources.files(self.path[len(PACKAGE_PREFIX):])
            except (ModuleNotFoundError, TypeError, ValueError):
                return None
        root = Path(self.path)
        return root if root.is_dir() else None

    def _spec_file(self, config_path: str) -> Traversable | None:
        group, _, name = config_path.partition("/")
        root = self._root()
        if group != GROUP or not name or "/" in name or root is None:
            return None
        candidate = root.joinpath(self._normalize_file_name(name))
        return candidate if candidate.is_file() else None

    def available(self) -> bool:
        return self._root() is not None

    def is_group(self, config_path: str) -> bool:
        return config_path.strip("/") in ("", GROUP) and self.available()

    def is_config(self, config_path: str) -> bool:
        return self._spec_file(config_path) is not None

    def load_config(self, config_path: str) -> ConfigResult:
        spec_file = self._spec_file(config_path)
        if spec_file is None:
            raise ConfigLoadError(f"Config not found : {config_path}")
        text = spec_file.read_text(encoding="utf-8")
        return ConfigResult(
            config=self._parse(config_path, text),
            path=f"{self.scheme()}://{self.path}",
            provider=self.provider,
            header=ConfigSource._get_header_dict(text[:512]),
        )

    def _parse(self, config_path: str, text: str) -> DictConfig:
        """The spec file as a mapping; anything else is a readable composition error (exit 2).
        The shape is checked with PyYAML first: OmegaConf re-parses a top-level string as YAML."""
        where = f"{self.path}/{config_path.partition('/')[2]}.yaml"
        try:
            document = yaml.load(text, Loader=_DatesAsTextLoader)
        except yaml.YAMLError as error:
            raise ConfigLoadError(f"{where} is not valid YAML: {' '.join(str(error).split())}") from None
        if document is not None and not isinstance(document, dict):
            raise ConfigLoadError(f"{where}: a spec file is a mapping of spec keys (name, query, window, ...), "
                                  f"not a {type(document).__name__}")
        try:
            config = OmegaConf.load(io.StringIO(text))
        except (OSError, ValueError, OmegaConfBaseException) as error:
            raise ConfigLoadError(f"{where}: cannot read it: {error}") from None
        assert isinstance(config, DictConfig)
        return config

    def list(self, config_path: str, results_filter: ObjectType | None) -> list[str]:
        root = self._root()
        if root is None:
            return []
        where = config_path.strip("/")
        if where == "":
            return [GROUP] if results_filter in (None, ObjectType.GROUP) else []
        if where != GROUP or results_filter == ObjectType.GROUP:
            return []
        names = {f.name[: -len(".yaml")] for f in root.iterdir() if f.is_file() and f.name.endswith(".yaml")}
        return sorted(names)
