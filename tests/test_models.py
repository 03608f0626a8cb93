"""Models: exact parameter counts (SPEC 2), unrolled = recurrent, shapes, depth errors,
per-module traces and receptive fields (against an autograd oracle)."""
import pytest
import torch
import torchvision

from recur.depths import iterations_for, valid_depths
from recur.models import (
    ResNet50,
    build_model,
    convs_to_span,
    count_parameters,
    receptive_field,
    unroll,
)


@pytest.mark.parametrize("family,dataset,depth,recurrent,count", [
    ("resnet", "cifar10", 7, True, 11_815_434),
    ("resnet", "cifar10", 11, True, 11_815_434),
    ("resnet", "cifar10", 19, True, 11_815_434),
    ("resnet", "cifar10", 15, False, 30_689_802),
    ("maze", "mazes", 8, True, 632_592),
    ("maze", "mazes", 44, True, 632_592),
    ("maze", "mazes", 20, False, 2_402_064),
    ("resnet18", "cifar10", 18, False, 11_173_962),
    ("resnet18", "emnist", 18, False, 11_191_791),
    ("mlp", "cifar10", 5, True, 656_810),
    ("convnet", "cifar10", 4, True, 135_306),
    ("convnet", "cifar10", 8, True, 135_306),
    ("convnet", "cifar10", 8, False, 283_018),
])
def test_parameter_counts_equal_the_paper(family, dataset, depth, recurrent, count):
    net = build_model(family, recurrent=recurrent, depth=depth, dataset=dataset)
    assert count_parameters(net) == count


def test_batchnorm_resnet_counts_round_to_table_1():
    c19 = count_parameters(build_model("resnet_bn", recurrent=True, depth=19, dataset="cifar10"))
    e15 = count_parameters(build_model("resnet_bn", recurrent=True, depth=15, dataset="emnist"))
    assert round(c19 / 1e6, 2) == 3.56 and round(e15 / 1e6, 2) == 3.57
    # shared convs, one BatchNorm set (4 × 2 × 256 parameters) more per iteration
    c7 = count_parameters(build_model("resnet_bn", recurrent=True, depth=7, dataset="cifar10"))
    assert c19 - c7 == 3 * 4 * 2 * 256


def test_recurrent_counts_do_not_grow_with_depth_but_feed_forward_ones_do():
    for family, dataset in (("mlp", "svhn"), ("convnet", "emnist"), ("resnet", "digits"),
                            ("maze", "mazes")):
        depths = valid_depths(family, 20)[:3]

        def count(recurrent, depth, family=family, dataset=dataset):
            return count_parameters(build_model(family, recurrent=recurrent, depth=depth,
                                                dataset=dataset, width=8))

        rec = {count(True, d) for d in depths}
        ff = [count(False, d) for d in depths]
        assert len(rec) == 1 and ff == sorted(set(ff)) and ff[0] == rec.pop()


def test_resnet50_forms():
    tv = torchvision.models.resnet50(num_classes=1000)
    ff = ResNet50(recurrent=False, base=tv)
    assert count_parameters(ff) == sum(p.numel() for p in tv.parameters()) == 25_557_032
    x = torch.randn(2, 3, 64, 64)
    tv.eval(), ff.eval()
    torch.testing.assert_close(ff(x), tv(x), rtol=0, atol=0)  # the same function as torchvision's
    rec = build_model("resnet50", recurrent=True, depth=50, dataset="imagenet")
    assert rec.iterations == (2, 3, 5, 2)
    # shared: 8 of the 16 bottlenecks lose their convolutions
    assert count_parameters(rec) < count_parameters(ff)
    rec.eval()
    ff2 = unroll(rec).eval()
    assert count_parameters(ff2) == count_parameters(ff)
    torch.testing.assert_close(ff2(x), rec(x))
    assert len(rec.trace(x)["features"]) == 16


CASES = [("mlp", "cifar10", 6, {}), ("convnet", "svhn", 7, {}), ("resnet", "emnist", 11, {}),
         ("maze", "mazes", 16, {}), ("maze", "mazes", 12, {"dilation": 2}),
         ("resnet_bn", "cifar10", 11, {}), ("mlp", "digits", 4, {}), ("convnet", "digits", 5, {})]


@pytest.mark.parametrize("family,dataset,depth,options", CASES)
def test_unrolled_net_computes_the_same_function(family, dataset, depth, options):
    torch.manual_seed(0)
    net = build_model(family, recurrent=True, depth=depth, dataset=dataset, width=16, **options)
    size = {"emnist": 28, "mazes": 20}.get(dataset, 32)
    channels = {"emnist": 1, "digits": 1}.get(dataset, 3)
    x = torch.randn(4, channels, size, size, dtype=torch.float64)
    net = net.double()
    ff = unroll(net)
    assert not ff.recurrent and ff.depth == net.depth and len(ff.blocks) == net.iterations
    assert count_parameters(ff) == count_parameters(
        build_model(family, recurrent=False, depth=depth, dataset=dataset, width=16, **options))
    for mode in ("train", "eval"):  # BatchNorm: batch statistics, then running statistics
        getattr(net, mode)(), getattr(ff, mode)()
        torch.testing.assert_close(ff(x), net(x), rtol=1e-12, atol=1e-12)
    # the copies are independent: training one does not move the recurrent net
    next(ff.blocks[0].parameters()).data.add_(1.0)
    assert not torch.allclose(ff(x), net(x))


def test_trace_gives_every_iteration_in_one_pass():
    torch.manual_seed(0)
    net = build_model("maze", recurrent=True, depth=12, dataset="mazes", width=8).eval()
    x = torch.randn(2, 3, 24, 24)
    out = net.trace(x, iterations=5)
    assert len(out["features"]) == len(out["outputs"]) == 5
    for k in range(1, 6):  # the k-th output is what a k-iteration forward returns
        torch.testing.assert_close(out["outputs"][k - 1], net(x, iterations=k))
    assert out["features"][0].shape == (2, 8, 24, 24)
    ff = build_model("convnet", recurrent=False, depth=6, dataset="cifar10", width=8)
    assert len(ff.trace(torch.randn(1, 3, 32, 32))["features"]) == 3
    with pytest.raises(ValueError, match="only a recurrent net"):
        ff(torch.randn(1, 3, 32, 32), iterations=5)


@pytest.mark.parametrize("family,dataset,shape,out", [
    ("mlp", "cifar10", (2, 3, 32, 32), (2, 10)), ("mlp", "emnist", (2, 1, 28, 28), (2, 47)),
    ("convnet", "cifar10", (2, 3, 32, 32), (2, 10)), ("convnet", "emnist", (2, 1, 28, 28), (2, 47)),
    ("resnet", "svhn", (2, 3, 32, 32), (2, 10)), ("resnet", "emnist", (2, 1, 28, 28), (2, 47)),
    ("resnet_bn", "cifar10", (2, 3, 32, 32), (2, 10)),
    ("resnet18", "emnist", (2, 1, 28, 28), (2, 47)),
    ("resnet", "imagenet", (1, 3, 224, 224), (1, 1000)),
    ("resnet50", "imagenet", (1, 3, 224, 224), (1, 1000)),
    ("resnet18", "imagenet", (1, 3, 224, 224), (1, 1000)),
    ("maze", "mazes", (2, 3, 24, 24), (2, 2, 24, 24)),
    ("maze", "mazes", (1, 3, 59, 37), (1, 2, 59, 37)),
    ("convnet", "digits", (2, 1, 32, 32), (2, 10)),
])
def test_output_shapes(family, dataset, shape, out):
    torch.manual_seed(0)
    depth = valid_depths(family)[0]
    wide = {"resnet": 16, "resnet_bn": 16, "maze": 8}.get(family)
    net = build_model(family, recurrent=family != "resnet18", depth=depth, dataset=dataset,
                      width=wide)
    with torch.no_grad():
        assert tuple(net.eval()(torch.randn(shape)).shape) == out


@pytest.mark.parametrize("family,depth,message", [
    ("resnet", 8, "valid depths are 7, 11, 15, 19, …"),
    ("maze", 21, "valid depths are 8, 12, 16, 20, …"),
    ("convnet", 3, "valid depths are 4, 5, 6"),
    ("mlp", 2, "valid depths are 3, 4, 5"),
    ("resnet18", 20, "valid depths are 18$"),
    ("resnet", 7.0, "cannot have effective depth 7.0"),
])
def test_impossible_depth_lists_valid_ones(family, depth, message):
    with pytest.raises(ValueError, match=message):
        iterations_for(family, depth)


@pytest.mark.parametrize("kwargs,message", [
    ({"family": "lstm", "recurrent": True, "depth": 8, "dataset": "mazes"},
     "unknown family 'lstm'"),
    ({"family": "maze", "recurrent": True, "depth": 8, "dataset": "mnist"},
     "unknown dataset 'mnist'"),
    ({"family": "maze", "recurrent": True, "depth": 8, "dataset": "cifar10"},
     "maze is not defined for cifar10"),
    ({"family": "maze", "recurrent": True, "depth": 8, "dataset": "mazes", "dilation": 0},
     "dilation = 0 is not allowed: use an integer >= 1"),
    ({"family": "mlp", "recurrent": True, "depth": 5, "dataset": "cifar10", "width": True},
     "width = True is not allowed: use an integer >= 2"),
    ({"family": "mlp", "recurrent": True, "depth": 5, "dataset": "cifar10", "dilation": 2},
     "unknown option"),
    ({"family": "resnet18", "recurrent": True, "depth": 18, "dataset": "cifar10"}, "resnet_bn"),
    ({"family": "resnet_bn", "recurrent": False, "depth": 7, "dataset": "digits",
      "shared_norm": True}, "shared_norm=True is for the recurrent resnet_bn"),
    ({"family": "resnet", "recurrent": True, "depth": 7, "dataset": "digits",
      "shared_norm": True}, "unknown option"),
    ({"family": "mlp", "recurrent": 1, "depth": 5, "dataset": "cifar10"},
     "recurrent = 1 is not allowed: use True or False"),
])
def test_bad_build_arguments(kwargs, message):
    family = kwargs.pop("family")
    with pytest.raises(ValueError, match=message):
        build_model(family, **kwargs)


def _empirical_receptive_field(net, size=61):
    """Oracle: which input pixels move the centre output pixel (autograd, linear path)."""
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.constant_(m.weight, 0.01)  # positive weights: ReLUs stay open
    x = torch.ones(1, 3, size, size, requires_grad=True)
    net(x)[0, 0, size // 2, size // 2].backward()
    cols = (x.grad[0].abs().sum(0).sum(0) > 0).nonzero()
    return int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize("depth,dilation", [(8, 1), (12, 1), (12, 2)])
def test_receptive_field_matches_autograd(depth, dilation):
    net = build_model("maze", recurrent=True, depth=depth, dataset="mazes", width=4,
                      dilation=dilation)
    assert receptive_field(net) == _empirical_receptive_field(net)
    outside, inside = depth - 4 * net.iterations, 4 * net.iterations
    assert receptive_field(net) == 1 + 2 * outside + 2 * inside * dilation
    assert receptive_field(net, iterations=net.iterations + 1) > receptive_field(net)


def test_receptive_field_spans_the_paper_mazes():
    """Paper 4.3: eight 3×3 convs cover a small maze, twelve a large one."""
    assert convs_to_span(5) == 8 and convs_to_span(7) == 12 and convs_to_span(6) == 10


def test_one_interface_for_every_net():
    """iterations (None for feed-forward), trace and shared_modules exist on every net."""
    from recur.models import build_model, iterates
    def net(family, recurrent, depth, dataset, width=None):
        return build_model(family, recurrent=recurrent, depth=depth, dataset=dataset,
                           width=width)

    nets = {("maze", True): net("maze", True, 12, "mazes", 4),
            ("maze", False): net("maze", False, 12, "mazes", 4),
            ("resnet18", False): net("resnet18", False, 18, "digits", 4),
            ("resnet50", True): net("resnet50", True, 50, "imagenet"),
            ("resnet50", False): net("resnet50", False, 50, "imagenet")}
    assert nets[("maze", True)].iterations == 2 and nets[("maze", False)].iterations is None
    assert nets[("resnet18", False)].iterations is None
    assert nets[("resnet50", False)].iterations is None
    assert nets[("resnet50", True)].iterations == (2, 3, 5, 2)
    assert [iterates(n) for n in nets.values()] == [True, False, False, False, False]
    shared = {k: [(type(m).__name__, n) for m, n in net.shared_modules()]
              for k, net in nets.items()}
    assert shared[("maze", True)] == [("ResidualModule", 2)] and shared[("maze", False)] == []
    assert [n for _, n in shared[("resnet50", True)]] == [2, 3, 5, 2]
    assert shared[("resnet18", False)] == shared[("resnet50", False)] == []
    assert all(callable(net.trace) for net in nets.values())
    assert unroll(nets[("resnet50", True)]).iterations is None


def test_share_norms_copies_one_iterations_batchnorm_everywhere():
    from recur.models import build_model, norm_statistics, share_norms
    torch.manual_seed(0)
    net = build_model("resnet_bn", recurrent=True, depth=15, dataset="digits", width=4)
    net.train()
    for _ in range(3):  # give each iteration's BatchNorm its own running statistics
        net(torch.randn(8, 1, 32, 32))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    shared = share_norms(net, iteration=2)  # counted from 1: the second iteration's
    norms = net.blocks[0].norms
    for k in range(len(norms)):
        for a, b in zip(shared.blocks[0].norms[k].state_dict().values(),
                        norms[1].state_dict().values()):
            assert torch.equal(a, b)
    for bad in (0, len(norms) + 1, True):
        with pytest.raises(ValueError, match=rf"iteration = {bad!r} .* 1\.\.{len(norms)}"):
            share_norms(net, iteration=bad)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # untouched
    rows = norm_statistics(net)
    assert len(rows) == 3 * 4 and rows[5]["iteration"] == 2 and rows[5]["layer"] == 2
    assert rows[5]["mean running var"] == pytest.approx(float(norms[1][1].running_var.mean()))
    with pytest.raises(ValueError, match="resnet_bn"):
        share_norms(build_model("maze", recurrent=True, depth=8, dataset="mazes", width=4))


def test_one_shared_batchnorm_is_one_set_used_at_every_iteration():
    """Oracle: the per-iteration net with the same convolutions and iteration 1's BatchNorm
    copied into every iteration computes the same function, in training (batch statistics)
    and in evaluation (running statistics); the shared net has (n - 1) sets fewer."""
    from recur.models import share_norms
    torch.manual_seed(0)
    shared = build_model("resnet_bn", recurrent=True, depth=15, dataset="digits", width=4,
                         shared_norm=True).double()
    per = build_model("resnet_bn", recurrent=True, depth=15, dataset="digits", width=4).double()
    assert len(shared.blocks[0].norms) == 1 and len(per.blocks[0].norms) == per.iterations == 3
    one_set = 4 * 2 * 4  # four BatchNorms of width 4, a weight and a bias each
    assert count_parameters(per) - count_parameters(shared) == (per.iterations - 1) * one_set
    shared.train()
    for _ in range(3):  # running statistics of its own
        shared(torch.randn(8, 1, 32, 32, dtype=torch.float64))
    state = {k: v for k, v in shared.state_dict().items() if ".norms." not in k}
    per.load_state_dict(state | {k.replace(".norms.0.", f".norms.{i}."): v
                                 for k, v in shared.state_dict().items() if ".norms.0." in k
                                 for i in range(per.iterations)})
    oracle = share_norms(per, iteration=1)
    x = torch.randn(6, 1, 32, 32, dtype=torch.float64)
    for mode in ("eval", "train"):
        getattr(shared, mode)(), getattr(oracle, mode)()
        torch.testing.assert_close(shared(x), oracle(x), rtol=1e-12, atol=1e-12)


def test_estimated_statistics_are_the_average_batch_statistics_per_iteration_or_shared():
    """Oracle: the shared BatchNorm's inputs, recorded call by call in the shared net in
    training mode (iteration by iteration, layer by layer): each iteration's new running
    mean is the average over the batches of its inputs' channel means; the learned scale
    and shift are the shared set's in every iteration; and on the batch it was estimated
    from, the copy in eval mode computes what the net computes with batch statistics.
    Without ``per_iteration`` the one set's mean is the average over every call."""
    from recur.models import estimate_statistics
    torch.manual_seed(0)
    shared = build_model("resnet_bn", recurrent=True, depth=15, dataset="digits", width=4,
                         shared_norm=True).double()
    shared.train()
    for _ in range(3):  # running statistics of another input distribution
        shared(torch.randn(8, 1, 32, 32, dtype=torch.float64))
    batches = [3 * torch.randn(6, 1, 32, 32, dtype=torch.float64) + 1 for _ in range(2)]
    seen = []  # the shared BatchNorm layers' inputs, in call order
    hooks = [bn.register_forward_pre_hook(lambda m, args, j=j: seen.append((j, args[0])))
             for j, bn in enumerate(shared.blocks[0].norms[0])]
    with torch.no_grad():
        for x in batches:
            shared(x)
    for h in hooks:
        h.remove()
    before = {k: v.clone() for k, v in shared.state_dict().items()}
    separate = estimate_statistics(shared, batches)
    norms, n = separate.blocks[0].norms, shared.iterations
    assert len(norms) == n and not separate.training
    per_batch = len(seen) // len(batches)  # n iterations x 4 layers per batch
    for i in range(n):
        for j in range(4):
            calls = [seen[b * per_batch + i * 4 + j] for b in range(len(batches))]
            assert all(layer == j for layer, _ in calls)
            expected = torch.stack([x.mean((0, 2, 3)) for _, x in calls]).mean(0)
            torch.testing.assert_close(norms[i][j].running_mean, expected)
            for name in ("weight", "bias"):
                assert torch.equal(getattr(norms[i][j], name),
                                   getattr(shared.blocks[0].norms[0][j], name))
    assert not torch.allclose(norms[0][0].running_var, norms[n - 1][0].running_var)
    assert all(torch.equal(before[k], v) for k, v in shared.state_dict().items())  # untouched
    one = estimate_statistics(shared, batches[:1]).eval()
    with torch.no_grad():
        target = shared.train()(batches[0])
        torch.testing.assert_close(one(batches[0]), target, rtol=1e-2, atol=1e-2)
        assert not torch.allclose(shared.eval()(batches[0]), target, rtol=1e-2, atol=1e-2)
    together = estimate_statistics(shared, batches, per_iteration=False)
    assert len(together.blocks[0].norms) == 1
    for j in range(4):
        expected = torch.stack([x.mean((0, 2, 3)) for layer, x in seen if layer == j]).mean(0)
        torch.testing.assert_close(together.blocks[0].norms[0][j].running_mean, expected)
    with pytest.raises(ValueError, match="at least one batch"):
        estimate_statistics(shared, [])
    with pytest.raises(ValueError, match="resnet_bn"):
        estimate_statistics(build_model("maze", recurrent=True, depth=8, dataset="mazes",
                                        width=4), batches)


@pytest.mark.parametrize("iterations", [0, True, 2.0])
def test_a_recurrent_net_refuses_a_bad_iteration_count(iterations):
    net = build_model("maze", recurrent=True, depth=12, dataset="mazes", width=4)
    with pytest.raises(ValueError, match=f"iterations = {iterations!r} is not allowed: use an "
                                         f"integer >= 1"):
        net(torch.zeros(1, 3, 11, 11), iterations=iterations)
