"""loopzoo-mazes: a loopzoo plugin adding the mazes task, its generated data and model names.

Installing the package is all it takes (entry points in ``pyproject.toml``)::

    pip install ./plugins/loopzoo-mazes
    loopzoo list 'mazes-*' --source
    python -c "import loopzoo; print(loopzoo.create('mazes-internal-recall-outernorm', width=16, heads=2)
               .solve('#######/#S..#.#/###.#.#/#...#.#/#.###.#/#....G#/#######', iters=3))"

Importing this package imports nothing heavy; loopzoo loads each module when a name needs it.
"""
__version__ = "0.1.0"
