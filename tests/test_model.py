"""Every registered model name: builds, runs forward and backward, continues from its state,
and survives a save/load round trip exactly. New names are tested the day they register."""
import pytest
import torch

import loopzoo
from loopzoo.registry import models

TINY = {"width": 16, "heads": 2}
NAMES = models.names()


def batch(model, n=2):
    task = model.task
    item = task.example
    return task.encode([task.parse(item, i) for i in range(n)])


def test_all_39_names_list():
    names = loopzoo.list_models()
    assert len([n for n in names if n.split("-")[0] in ("prefix", "sudoku", "chess")]) == 39
    for task in ("prefix-sums", "sudoku", "chess"):
        assert f"{task}-fixed15" in names
        for recall in ("no-recall", "recall", "internal-recall"):
            for norm in ("prenorm", "perinorm", "outernorm", "gru"):
                assert f"{task}-{recall}-{norm}" in names
    assert loopzoo.list_models("chess-*-gru") == ["chess-internal-recall-gru", "chess-no-recall-gru", "chess-recall-gru"]


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward_shapes(name):
    model = loopzoo.create(name, **TINY)
    x = batch(model)
    logits, state = model(x, 3)
    B, L, _ = x.shape
    assert logits.shape == (B, L, model.task.out_channels)
    assert state.shape == (B, L, 16)
    logits.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


@pytest.mark.parametrize("name", NAMES)
def test_continuing_from_state_equals_one_long_run(name):
    model = loopzoo.create(name, **TINY).eval()
    x = batch(model)
    with torch.no_grad():
        _, s5 = model(x, 5)
        logits_a, s10a = model(x, 5, state=s5)
        logits_b, s10b = model(x, 10)
    torch.testing.assert_close(s10a, s10b, rtol=0, atol=0)
    torch.testing.assert_close(logits_a, logits_b, rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip_is_exact(name, tmp_path):
    model = loopzoo.create(name, **TINY).eval()
    model.save(tmp_path)
    loaded = loopzoo.load(tmp_path)
    assert loaded.config == model.config
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    x = batch(model)
    with torch.no_grad():
        torch.testing.assert_close(model(x, 4)[0], loaded(x, 4)[0], rtol=0, atol=0)


def test_inference_memory_does_not_keep_states():
    """Under no_grad the loop holds one state: reference counts of states created stay bounded."""
    import gc
    import weakref

    model = loopzoo.create("prefix-sums-internal-recall-outernorm", **TINY).eval()
    x = batch(model)
    alive = []
    with torch.no_grad():
        for s in model.iterate(x, 50):
            alive.append(weakref.ref(s))
    gc.collect()
    assert sum(r() is not None for r in alive) <= 1


def test_paper_size_parameter_count():
    model = loopzoo.create("sudoku-internal-recall-outernorm")
    d = 256
    block = 4 * d * d + 4 * d + 2 * (4 * d * d) + 5 * d + 2 * (d * d + d) + d + 2 * 32  # attn, mlp, recall, N3, qk-norm
    embed, readout = 10 * d + d, d + d * d + d + d * 9 + 9
    assert model.num_parameters() == block + embed + readout


def test_fixed15_has_15_untied_layers():
    model = loopzoo.create("sudoku-fixed15", **TINY)
    assert len(model.blocks) == 15 and model.config.iters == 1
    assert model.blocks[0].attn.qkv.weight.data_ptr() != model.blocks[1].attn.qkv.weight.data_ptr()


def test_create_rejects_unknown_override():
    with pytest.raises(loopzoo.ConfigError, match="widht"):
        loopzoo.create("sudoku-recall-prenorm", widht=64)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(loopzoo.UnknownNameError) as info:
        loopzoo.create("sudoku-internal-recal-outernorm")
    assert "sudoku-internal-recall-outernorm" in str(info.value)
    assert info.value.suggestions[0] == "sudoku-internal-recall-outernorm"


def test_config_json_round_trip():
    config = loopzoo.config_for("chess-recall-gru", width=64)
    assert loopzoo.ModelConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize("bad", ['{"task": "sudoku", "width": -1}', '{"task": "sudoku", "foo": 1}', "[1]", "{", '{"width": 8}',
                                 '{"task": "sudoku", "width": 30, "heads": 4}'])
def test_bad_config_raises_config_error(bad):
    with pytest.raises(loopzoo.ConfigError):
        loopzoo.ModelConfig.from_json(bad)


@pytest.mark.parametrize("name", ["prefix-sums-internal-recall-outernorm", "sudoku-recall-prenorm"])
def test_training_after_inference_mode_evaluation(name):
    """Cached rotary tables and window indices first built under inference_mode must not break backward."""
    model = loopzoo.create(name, **TINY)
    x = batch(model)
    with torch.inference_mode():
        model(x, 2)
    logits, _ = model(x, 2)
    logits.sum().backward()
    assert model.embed.weight.grad is not None


@pytest.mark.parametrize("name", ["chess-internal-recall-outernorm", "prefix-sums-recall-prenorm"])  # full, local
def test_compiled_solve_equals_eager_with_and_without_halting(name):
    torch.manual_seed(0)
    m = loopzoo.create(name, width=16, heads=2).eval()
    inputs = [m.task.example] * 3 if m.task.name == "chess" else ["0110100111" * 3, "1" * 30, "0" * 29 + "1"]
    with torch.inference_mode():
        x = m.task.encode([m.task.parse(v, i) for i, v in enumerate(inputs)])
        logits = m(x, 6)[0]
    eager = m.solve(inputs, iters=6)
    eager_halt = m.solve(inputs, iters=12, halt="residual:1e-2", return_info=True)
    assert m.solve(inputs, iters=6, compile=True) == eager
    assert all(block._compiled_call_impl is not None for block in m.blocks)
    with torch.inference_mode():
        torch.testing.assert_close(m(x, 6)[0], logits, rtol=1e-4, atol=1e-5)
    assert m.solve(inputs, iters=12, halt="residual:1e-2", return_info=True, compile=True) == eager_halt


def test_compile_rejects_an_unknown_mode():
    m = loopzoo.create("prefix-sums-recall-prenorm", width=16, heads=2)
    with pytest.raises(loopzoo.InputError, match="compile mode"):
        m.solve("0101", iters=2, compile="fastest")


def test_compile_failure_falls_back_to_eager_with_a_warning(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(torch, "compile", lambda fn, **kw: broken)
    m = loopzoo.create("prefix-sums-recall-prenorm", width=16, heads=2).eval()
    expected = m.solve("0110", iters=3)
    with pytest.warns(loopzoo.LoopzooWarning, match="no C\\+\\+ compiler"):
        assert m.solve("0110", iters=3, compile=True) == expected
    assert all(block._compiled_call_impl is None for block in m.blocks)
    with pytest.warns(loopzoo.LoopzooWarning):  # not marked as compiled: a later call tries again
        m.solve("0110", iters=3, compile=True)


@pytest.mark.parametrize("name", ["sudoku-internal-recall-outernorm", "prefix-sums-recall-prenorm"])  # grid, window
def test_block_compiles_as_one_graph(name):
    """A graph break inside the block (e.g. building a rotary table or band mask while tracing)
    makes torch.compile skip the whole block: compile=True would then run eager in pieces."""
    m = loopzoo.create(name, width=16, heads=2).eval()
    block = m.blocks[0]
    x = m.task.encode([m.task.parse(m.task.example, 0)] * 2)
    torch._dynamo.reset()
    with torch.inference_mode():
        e = m.embed(x)
        explained = torch._dynamo.explain(block)(e, m.recall_inputs(e, fold=True)[0])
    assert explained.graph_break_count == 0, explained.break_reasons
    assert explained.graph_count == 1
