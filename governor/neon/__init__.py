"""The Neon API edge: models, a paced client, operation waiting.

Nothing under ``governor.neon`` imports the domain, so the edge can be reused and tested
alone; the defaults it needs live here, and the config reads them from here.
"""

DEFAULT_API_URL = "https://console.neon.tech/api/v2"
