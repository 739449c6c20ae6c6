"""Words and id shapes for generated worlds, so they read like real Neon accounts."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

ADJECTIVES = (
    "aged", "ancient", "autumn", "billowing", "bitter", "black", "blue", "bold", "broad",
    "calm", "cold", "cool", "crimson", "curly", "damp", "dark", "dawn", "delicate", "divine",
    "dry", "empty", "falling", "fancy", "flat", "floral", "fragrant", "frosty", "gentle",
    "green", "hidden", "holy", "icy", "jolly", "late", "lingering", "little", "lively",
    "long", "lucky", "misty", "morning", "muddy", "nameless", "noisy", "odd", "old",
    "orange", "patient", "plain", "polished", "proud", "purple", "quiet", "rapid", "raspy",
    "red", "restless", "rough", "round", "royal", "shiny", "shrill", "shy", "silent",
    "small", "snowy", "soft", "solitary", "sparkling", "spring", "square", "steep", "still",
    "summer", "super", "sweet", "throbbing", "tight", "tiny", "twilight", "wandering",
    "weathered", "white", "wild", "winter", "wispy", "withered", "yellow", "young",
)  # fmt: skip
NOUNS = (
    "art", "band", "bar", "base", "bird", "block", "boat", "bonus", "bread", "breeze",
    "brook", "bush", "butterfly", "cake", "cell", "cherry", "cloud", "credit", "darkness",
    "dawn", "dew", "disk", "dream", "dust", "feather", "field", "fire", "firefly", "flower",
    "fog", "forest", "frog", "frost", "glade", "glitter", "grass", "hall", "hat", "haze",
    "heart", "hill", "king", "lab", "lake", "leaf", "limit", "math", "meadow", "mode",
    "moon", "morning", "mountain", "mouse", "mud", "night", "paper", "pine", "poetry",
    "pond", "queen", "rain", "recipe", "resonance", "rice", "river", "salad", "scene",
    "sea", "shadow", "shape", "silence", "sky", "smoke", "snow", "snowflake", "sound",
    "star", "sun", "sunset", "surf", "term", "thunder", "tooth", "tree", "truth", "union",
    "unit", "violet", "voice", "water", "waterfall", "wave", "wildflower", "wind", "wood",
)  # fmt: skip
PROJECT_NAMES = (
    "billing-api", "storefront", "analytics", "marketing-site", "auth-service", "mobile-backend",
    "data-warehouse", "internal-tools", "search", "notifications", "payments", "crm",
    "docs-site", "ml-features", "inventory", "support-desk", "reporting", "edge-cache",
)  # fmt: skip
PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")


@dataclass
class NeonIds:
    """Unique ids shaped like Neon's: ``org-…-12345678``, ``wispy-bird-12345678``,
    ``br-…-a1b2c3d4``, ``ep-…-a1b2c3d4``; all match ``^[a-z0-9-]{1,60}$``."""

    rng: random.Random
    used: set[str] = field(default_factory=set)

    def _words(self) -> str:
        return f"{self.rng.choice(ADJECTIVES)}-{self.rng.choice(NOUNS)}"

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            value = str(make())
            if value not in self.used:
                self.used.add(value)
                return value

    def organization(self) -> str:
        return self._unique(lambda: f"org-{self._words()}-{self.rng.randrange(10**7, 10**8)}")

    def project(self) -> str:
        return self._unique(lambda: f"{self._words()}-{self.rng.randrange(10**7, 10**8)}")

    def _suffix(self) -> str:
        return "".join(self.rng.choice(string.ascii_lowercase + string.digits) for _ in range(8))

    def branch(self) -> str:
        return self._unique(lambda: f"br-{self._words()}-{self._suffix()}")

    def endpoint(self) -> str:
        return self._unique(lambda: f"ep-{self._words()}-{self._suffix()}")

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
