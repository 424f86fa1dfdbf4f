"""Puts crawlspec's spec directories on the search path of crawlspec's own Hydra app.

Order: `./specs/` of the current directory first, then the specs packaged in `crawlspec.specs`,
so a local `specs/shoes.yaml` shadows the packaged example of the same name. Other Hydra apps in
the same environment are left alone (the plugin acts only when crawlspec's config is primary).
"""

from __future__ import annotations

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

from hydra_plugins.crawlspec_plugins.spec_source import PACKAGE_PREFIX, SCHEME

PRIMARY_CONFIG = "pkg://crawlspec.conf"
LOCAL_SPECS_DIR = "specs"
PACKAGED_SPECS = "crawlspec.specs"


class CrawlspecSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        if not any(element.path == PRIMARY_CONFIG for element in search_path.get_path()):
            return
        search_path.append(provider="crawlspec-local-specs", path=f"{SCHEME}://{LOCAL_SPECS_DIR}")
        search_path.append(provider="crawlspec-packaged-specs",
                           path=f"{SCHEME}://{PACKAGE_PREFIX}{PACKAGED_SPECS}")
