"""Inverted indexes of a corpus: query value -> ascending corpus indexes (array('I')).

Ascending arrays let a search cut any posting list to a window's index range with two bisections.
Keys follow the simulator's matching rules: hashtags and usernames lower-cased (NUL bytes
stripped from usernames), region/music/effect ids as exact strings, video_length as its class.
"""

from __future__ import annotations

from array import array
from collections import defaultdict

from crawlspec.sim.columns import CorpusColumns, length_class


def clean_username(name: str) -> str:
    """How usernames compare: NUL padding (an artefact of the data) removed, lower-cased."""
    return name.replace("\x00", "").lower()


def build_indexes(corpus: CorpusColumns) -> None:
    tags: defaultdict[str, array[int]] = defaultdict(lambda: array("I"))
    regions: defaultdict[str, array[int]] = defaultdict(lambda: array("I"))
    music: defaultdict[str, array[int]] = defaultdict(lambda: array("I"))
    effects: defaultdict[str, array[int]] = defaultdict(lambda: array("I"))
    lengths: defaultdict[str, array[int]] = defaultdict(lambda: array("I"))
    creator_regions = corpus.creators.regions
    music_ids = [str(music_id) for music_id in corpus.music_ids]
    for idx in range(len(corpus)):
        for tag in {tag.lower() for tag in corpus.hashtags[idx]}:
            tags[tag].append(idx)
        regions[creator_regions[corpus.creator[idx]]].append(idx)
        music[music_ids[corpus.music[idx]]].append(idx)
        for effect in corpus.effects[idx] or ():
            effects[effect].append(idx)
        lengths[length_class(corpus.durations[idx])].append(idx)
    users = {clean_username(name): corpus.creators.videos[i] for i, name in enumerate(corpus.creators.usernames)}
    corpus.index = {"hashtag_name": dict(tags), "region_code": dict(regions), "music_id": dict(music),
                    "effect_id": dict(effects), "video_length": dict(lengths), "username": users}
