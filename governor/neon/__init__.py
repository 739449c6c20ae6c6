"""The Neon API edge: models, a paced client, operation waiting."""
