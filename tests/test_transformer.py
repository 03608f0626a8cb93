"""The transformer family and the p-hop task (issue 32): tied = unrolled, exact parameter
counts, the generator against an independent pointer-following solver, seeded
determinism, and train/test splits that never overlap."""
import hashlib

import numpy as np
import pytest
import torch

from recur import phop
from recur.depths import iterations_for, valid_depths
from recur.models import build_model, count_parameters, unroll


def _params(vocab, length, width, classes, modules):
    """By hand: token and position embeddings; per module two LayerNorms (2w each), qkv
    (3w² + 3w), projection (w² + w), MLP (4w² + 4w, 4w² + w); LayerNorm and read-out."""
    block = 2 * 2 * width + (3 * width * width + 3 * width) + (width * width + width) \
        + (4 * width * width + 4 * width) + (4 * width * width + width)
    assert block == 12 * width * width + 13 * width
    return (vocab + length) * width + modules * block + 2 * width + (width + 1) * classes


def test_depths_are_two_per_module_plus_two():
    assert valid_depths("transformer", 10) == [4, 6, 8, 10]
    assert iterations_for("transformer", 8) == 3
    with pytest.raises(ValueError, match="valid depths are 4, 6, 8"):
        iterations_for("transformer", 7)


@pytest.mark.parametrize("depth", [4, 6, 10])
def test_unrolled_transformer_computes_the_same_function(depth):
    torch.manual_seed(0)
    net = build_model("transformer", recurrent=True, depth=depth, dataset="phop", width=16,
                      heads=2).double()
    ff = unroll(net)
    assert not ff.recurrent and ff.depth == depth and len(ff.blocks) == net.iterations
    assert count_parameters(ff) == count_parameters(build_model(
        "transformer", recurrent=False, depth=depth, dataset="phop", width=16, heads=2))
    x = torch.as_tensor(phop.generate(8, seed=3)[0])
    for mode in ("train", "eval"):
        getattr(net, mode)(), getattr(ff, mode)()
        torch.testing.assert_close(ff(x), net(x), rtol=0, atol=0)
    assert net(x).shape == (8, 4)
    out = net.trace(x, iterations=net.iterations + 2)  # think longer than trained
    assert len(out["outputs"]) == net.iterations + 2
    assert out["features"][0].shape == (8, 32, 16)
    torch.testing.assert_close(out["outputs"][net.iterations - 1], net(x))
    next(ff.blocks[0].parameters()).data.add_(1.0)  # the copies are independent
    assert not torch.allclose(ff(x), net(x))


def test_parameter_counts_by_hand():
    v, length, w = 4, 32, 64  # the phop dataset's shape, the family's width
    for depth in (4, 6, 8, 12):
        n = iterations_for("transformer", depth)
        rec = build_model("transformer", recurrent=True, depth=depth, dataset="phop")
        ff = build_model("transformer", recurrent=False, depth=depth, dataset="phop")
        assert count_parameters(rec) == _params(v, length, w, v, 1) == 52_676
        assert count_parameters(ff) == _params(v, length, w, v, n)
    other = build_model("transformer", recurrent=False, depth=6, shape=(7, 5, 12), width=24,
                        heads=3)
    assert count_parameters(other) == _params(7, 12, 24, 5, 2)


def test_transformer_options_are_checked():
    with pytest.raises(ValueError, match="not divisible"):
        build_model("transformer", recurrent=True, depth=4, dataset="phop", heads=5)
    with pytest.raises(ValueError, match="heads"):
        build_model("transformer", recurrent=True, depth=4, dataset="phop", heads=0)
    with pytest.raises(ValueError, match="unknown option"):
        build_model("transformer", recurrent=True, depth=4, dataset="phop", dilation=2)
    net = build_model("transformer", recurrent=True, depth=4, dataset="phop")
    with pytest.raises(ValueError, match="longer than"):
        net(torch.zeros(1, 33, dtype=torch.int64))


@pytest.mark.parametrize("hops,length,vocab", [(1, 8, 3), (2, 16, 4), (4, 32, 4),
                                               (6, 40, 5)])
def test_generator_agrees_with_plain_pointer_following(hops, length, vocab):
    x, y = phop.generate(2000, length, hops, vocab, seed=hops)
    assert x.shape == (2000, length) and y.shape == (2000,)
    assert x.dtype == y.dtype == np.int64 and x.min() >= 0 and x.max() < vocab
    assert np.array_equal(phop.solve(x, hops), y)  # every answer defined and right


def test_solver_marks_sequences_without_p_hops():
    # a b a: one hop from the last a lands on b; a second hop from b finds no earlier b
    assert phop.solve([[0, 1, 0]], 1).tolist() == [1]
    assert phop.solve([[0, 1, 0]], 2).tolist() == [-1]
    assert phop.solve([[1, 0, 0]], 1).tolist() == [-1]  # the occurrence right before: stuck
    assert phop.solve([[0, 1, 0, 1]], 2).tolist() == [1]  # 3 → 2 → 1


def test_generation_is_seeded_and_a_prefix():
    x, y = phop.generate(64, seed=0)
    digest = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()[:16]
    assert digest == "4e671926a29b666d"  # the same on every machine and numpy
    x2, y2 = phop.generate(5000, seed=0)
    assert np.array_equal(x2[:64], x) and np.array_equal(y2[:64], y)
    assert not np.array_equal(phop.generate(64, seed=1)[0], x)
    assert np.array_equal(phop.generate(64, seed=np.random.SeedSequence(0))[0], x)
    with pytest.raises(ValueError, match="seed"):
        phop.generate(4, seed=-1)
    with pytest.raises(ValueError, match="length"):
        phop.generate(4, length=3, hops=2)
    with pytest.raises(ValueError, match="fewer hops"):
        phop.generate(4, length=10, hops=8, vocab=8)


def test_splits_never_overlap():
    train, test = phop.splits(3000, 1000, length=8, hops=2, vocab=3, seed=0)
    assert len(train.tokens) == 3000 and len(test.tokens) == 1000
    assert phop.overlap(train.tokens, test.tokens) == 0
    assert np.array_equal(phop.solve(test.tokens, 2), test.answers)
    # the small space repeats itself, so the check is not vacuous
    raw = phop.generate(1000, 8, 2, 3, np.random.SeedSequence(0).spawn(2)[1])[0]
    assert phop.overlap(train.tokens, raw) > 0
    again = phop.splits(3000, 1000, length=8, hops=2, vocab=3, seed=0)
    assert np.array_equal(again[1].tokens, test.tokens)
    with pytest.raises(ValueError, match="too few distinct"):
        phop.splits(200, 100, length=4, hops=1, vocab=2, seed=0)


def _phop_config(**changes):
    from recur.profiles import make_config
    # the quick digits recipe on the task (notebook 06 will give the task a recipe of its own)
    base = make_config("quick", "classification", family="mlp", recurrent=True, depth=4)
    return base.replace(**({"family": "transformer", "dataset": "phop", "depth": 6, "hops": 2,
                            "n_train": 256, "n_test": 64, "epochs": 1, "width": 16,
                            "heads": 2, "device": "cpu"} | changes))


def test_a_p_hop_config_needs_its_hops_and_heads_go_with_attention():
    with pytest.raises(ValueError, match="hops is the p-hop task's"):
        _phop_config(hops=None)
    with pytest.raises(ValueError, match="hops is the p-hop task's"):
        _phop_config(dataset="digits", family="mlp", hops=2, heads=None, depth=4)
    with pytest.raises(ValueError, match="heads is the transformer's"):
        _phop_config(dataset="digits", family="mlp", hops=None, heads=2, depth=4)
    with pytest.raises(ValueError, match="hops = 0 is not allowed: use an integer >= 1"):
        _phop_config(hops=0)


def test_token_batches_serve_the_seeded_disjoint_splits_as_integers():
    from recur.data import make_data
    c = _phop_config()
    train, test = make_data(c, "cpu")
    want_train, want_test = phop.splits(256, 64, hops=2, seed=c.seed)
    assert len(train) == 256 and len(test) == 64
    x, y = next(test.batches(64))
    assert x.dtype == torch.int64 and torch.equal(x, torch.as_tensor(want_test.tokens))
    assert torch.equal(y, torch.as_tensor(phop.solve(want_test.tokens, 2)))
    order = torch.cat([b[1] for b in train.batches(100, torch.Generator().manual_seed(1))])
    again = torch.cat([b[1] for b in train.batches(100, torch.Generator().manual_seed(1))])
    assert torch.equal(order, again) and len(order) == 256  # shuffled by the generator
    assert not torch.equal(order, torch.as_tensor(want_train.answers))
    assert torch.equal(next(train.eval_view().batches(256))[0], torch.as_tensor(want_train.tokens))


def test_a_looped_transformer_trains_on_the_task_and_records_paired_scores(tmp_path):
    """The trainer runs a transformer on p-hop like any family: a record with per-example
    scores that agree with its accuracy (the committed records keep their names with the
    two new config fields: tests/test_params.py)."""
    from recur import results, train
    c = _phop_config()
    record = train.train(c, results_dir=tmp_path, checkpoint_dir=tmp_path, progress="none",
                         log=lambda *a: None)
    m = record["metrics"]
    hits = results.unpack(m["test_correct"], m["test_images"])
    assert m["test_images"] == 64 and 100 * hits.mean() == pytest.approx(m["test_acc"], abs=1e-3)
    assert len(m["test_acc_per_iteration"]) == c.iterations + c.extra_iterations


def test_update_sizes_by_hand():
    """‖h_k − h_{k−1}‖ / ‖h_{k−1}‖ per example, averaged, against the module applied by hand."""
    from recur.analysis import update_sizes
    torch.manual_seed(0)
    net = build_model("transformer", recurrent=True, depth=6, dataset="phop", width=16,
                      heads=2).double().eval()
    x = torch.as_tensor(phop.generate(5, seed=1)[0])
    with torch.no_grad():
        h = [net.prelude(x)]
        for i in range(4):
            h.append(net.blocks[0](h[-1], i))
        want = [float(((b - a).flatten(1).norm(dim=1) / a.flatten(1).norm(dim=1)).mean())
                for a, b in zip(h, h[1:])]
    assert update_sizes(net, x, iterations=4) == pytest.approx(want, rel=1e-12)
    assert len(update_sizes(net, x)) == net.iterations == 2
    still = build_model("maze", recurrent=True, depth=12, width=8, dataset="mazes").eval()
    for p in still.blocks[0].parameters():
        p.data.zero_()  # a residual module that adds nothing: the features do not move
    assert update_sizes(still, torch.rand(2, 3, 13, 13)) == [0.0, 0.0]
