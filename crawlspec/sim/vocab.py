"""Vocabulary of the simulated corpus: topics with their hashtags and phrases, names, regions.

Topics overlap on purpose (running shoes in fitness, sneakers in dance, food while travelling) so a
hashtag or keyword query matches partially across topics. Every list here is ordered: generation
must never iterate a set, whose order changes with the interpreter's hash seed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    weight: float
    tags: tuple[str, ...]             # most popular first; the first tags are drawn most often
    phrases: tuple[str, ...]
    cross_topics: tuple[str, ...] = ()  # topics whose tags these videos borrow


TOPICS: tuple[Topic, ...] = (
    Topic("fashion", 13, ("fashion", "shoes", "sneakers", "ootd", "style", "outfit", "streetwear",
                          "sneakerhead", "thrift"),
          ("new kicks just dropped", "rate my shoes 1-10", "thrifted these sneakers for $5",
           "outfit check before work", "which shoes would you pick?", "styling one pair of sneakers 3 ways",
           "my shoe collection tour", "get ready with me", "今日のコーデ", "новые кроссовки 🔥"),
          ("fitness", "dance")),
    Topic("pets", 12, ("cats", "catsoftiktok", "dogs", "pets", "kitten", "puppy", "猫", "котики"),
          ("my cat judging me again", "he stole my shoes again", "puppy's first walk",
           "when the cat hears the food bag", "adopted this little one today", "猫がかわいすぎる"),
          ("comedy",)),
    Topic("food", 12, ("food", "recipe", "cooking", "foodtok", "baking", "easyrecipe", "streetfood"),
          ("easy pasta in 10 minutes", "best street food in town", "baking bread for the first time",
           "what I eat in a day", "this sauce changes everything", "أكل لذيذ جدا", "먹방 최고"),
          ("travel",)),
    Topic("music", 10, ("music", "singing", "cover", "guitar", "newmusic", "piano"),
          ("cover of my favourite song", "wrote this at 3am", "guitar riff of the day",
           "singing in the car", "new song out friday", "piano version"),
          ("dance",)),
    Topic("dance", 10, ("dance", "dancechallenge", "choreography", "trend", "sneakers"),
          ("learn this dance in 30 seconds", "tried the new challenge", "choreo by me",
           "dance break at the office", "dancing in my new sneakers"),
          ("music", "fashion")),
    Topic("comedy", 10, ("comedy", "funny", "prank", "meme", "relatable"),
          ("when your mom calls you by full name", "pov: monday morning", "prank on my brother",
           "this is so relatable", "wait for the end 😂"),
          ("pets",)),
    Topic("football", 8, ("football", "soccer", "goal", "premierleague", "messi", "サッカー"),
          ("what a goal!", "best skills of the season", "training with new boots",
           "matchday vibes", "free kick challenge"),
          ("fitness",)),
    Topic("travel", 8, ("travel", "wanderlust", "beach", "roadtrip", "travelgram"),
          ("hidden beach nobody knows about", "48 hours in tokyo", "road trip day 3",
           "packing hacks for carry-on", "sunset from the ferry"),
          ("food",)),
    Topic("gaming", 7, ("gaming", "minecraft", "fortnite", "gamer", "speedrun"),
          ("new world record attempt", "building my dream base", "clutch moment",
           "rate my setup", "this glitch is wild"),
          ()),
    Topic("beauty", 7, ("beauty", "makeup", "skincare", "grwm", "nails"),
          ("5 minute makeup", "night skincare routine", "get ready with me", "nail art for beginners",
           "trying viral products"),
          ("fashion",)),
    Topic("fitness", 6, ("fitness", "gym", "workout", "running", "shoes"),
          ("leg day routine", "my running shoes after 500 km", "home workout no equipment",
           "best sneakers for running?", "morning run 5k"),
          ("fashion", "football")),
)

TOPIC_WEIGHTS: tuple[float, ...] = tuple(topic.weight for topic in TOPICS)
TOPIC_BY_NAME: dict[str, Topic] = {topic.name: topic for topic in TOPICS}

# Tags anyone adds, with the probability a video carries each.
GENERIC_TAGS: tuple[tuple[str, float], ...] = (
    ("fyp", 0.40), ("foryou", 0.22), ("viral", 0.15), ("trending", 0.06), ("duet", 0.04),
)

# How some users type tags (the API returns tags as typed).
CASE_VARIANTS: dict[str, tuple[str, ...]] = {
    "shoes": ("Shoes", "SHOES"), "sneakers": ("Sneakers", "SNEAKERS"), "fyp": ("FYP", "Fyp"),
    "catsoftiktok": ("CatsOfTikTok",), "ootd": ("OOTD",), "foodtok": ("FoodTok",),
    "premierleague": ("PremierLeague",), "grwm": ("GRWM",), "viral": ("Viral",), "messi": ("Messi",),
}

FILLERS: tuple[str, ...] = (
    "", "", "", "lol", "part 2", "omg", "🔥🔥", "❤️", "(link in bio)", "wait for it", "✨", "no way",
    "와 대박", "рил", "جميل", "最高", "#",
)

VOICE_LINES: tuple[str, ...] = (
    "hey guys welcome back", "so today we are trying something new", "okay let's go",
    "you won't believe what happened", "this is my favourite part", "follow for part two",
)

# Regions ordered by popularity (the tail is drawn from the API's full list).
POPULAR_REGIONS: tuple[str, ...] = (
    "US", "GB", "BR", "ID", "MX", "DE", "FR", "TR", "PH", "JP", "VN", "TH", "IT", "ES", "SA", "EG",
    "PK", "NG", "AR", "CO", "PL", "NL", "MY", "KR", "AU", "CA", "UA", "RO", "IQ", "BD", "KZ", "MA",
    "CL", "PE", "SE", "BE", "PT", "AE", "ZA", "KE",
)

FIRST_NAMES: tuple[str, ...] = (
    "maria", "kai", "lena", "omar", "yuki", "ana", "leo", "mila", "noah", "zoe", "ivan", "sara",
    "tom", "aisha", "lucas", "emma", "hugo", "nora", "ravi", "chloe", "mateo", "lea", "jin", "fatima",
)
HANDLE_WORDS: tuple[str, ...] = (
    "daily", "official", "vibes", "tv", "eats", "kicks", "style", "cat", "travels", "plays", "fit",
    "music", "dance", "lol", "real", "the", "its", "just", "chef", "coach",
)
NON_LATIN_HANDLES: tuple[str, ...] = ("ゆき", "котик", "민지", "نور", "小明", "σοφία")

STICKERS: tuple[str, ...] = ("poll", "question", "location", "mention", "countdown", "quiz", "link")
EFFECT_NAMES: tuple[str, ...] = ("Green Screen", "Time Warp Scan", "Bling", "Slow Zoom", "Beauty", "3D Zoom")

COMMENT_TEXTS: tuple[str, ...] = (
    "so cute", "where are these from??", "😂😂😂", "first", "love this", "need this", "", "who's here in 2024",
    "call me at +1 555 *** ****", "mail me: ana***@g****.com", "かわいい", "класс", "رائع", "ㅋㅋㅋㅋ",
    "this is the best one", "part 2 please", "song name?", "no way 😭", "underrated",
)
