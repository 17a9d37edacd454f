"""``loopzoo serve``: a page that shows a looped model's answer at every iteration.

Pick a bundled model (or a checkpoint directory), an input (typed, from the bundled val and hard
splits, or a random hard one), the number of iterations and a halting rule; the page shows the
answer at each iteration on a slider (a sudoku grid, a chess board, a bit string), the residual,
confidence and correctness curves, where halting would stop, and whether the answer verifies.

Modules: :mod:`.record` runs the model and keeps what each iteration showed; :mod:`.views` draws
one task's answer (registered per task in :data:`loopzoo.registry.views`); :mod:`.curves` plots
the per-iteration curves; :mod:`.examples` picks inputs from the bundled splits; :mod:`.actions`
are the page's functions (plain Python, tested without a browser); :mod:`.page` lays them out
with Gradio, the only module that imports it (``pip install 'loopzoo[web]'``).
"""
