"""Chess data: see loopzoo.data.chess (being written)."""
