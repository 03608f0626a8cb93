"""CKA against independent float64 references and its invariants; activation reuse,
probes and feature visualisation on cases with known answers."""
import copy
import itertools

import numpy as np
import pytest
import torch

from recur import analysis, visualise
from recur.models import build_model, unroll

RNG = np.random.default_rng(0)


def cka_reference(x, y):
    """Linear CKA in feature space: ||Yc'Xc||² / (||Xc'Xc|| ||Yc'Yc||) (Kornblith et al.,
    eq. 4)."""
    x = x - x.mean(0)
    y = y - y.mean(0)
    return np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def hsic_u_statistic(kx, ky):
    """Song et al.'s unbiased HSIC straight from its definition: the mean over ordered
    4-tuples of distinct examples of kx_ij ky_ij + kx_ij ky_qr − 2 kx_ij ky_iq."""
    n = len(kx)
    total, count = 0.0, 0
    for i, j, q, r in itertools.permutations(range(n), 4):
        total += kx[i, j] * ky[i, j] + kx[i, j] * ky[q, r] - 2 * kx[i, j] * ky[i, q]
        count += 1
    return total / count


def test_linear_cka_matches_the_feature_space_formula():
    x = RNG.normal(size=(50, 12))
    y = x @ RNG.normal(size=(12, 7)) + RNG.normal(size=(50, 7))
    assert analysis.linear_cka(x, y) == pytest.approx(cka_reference(x, y), rel=1e-10)


def test_unbiased_hsic_matches_its_u_statistic_definition():
    x, y = RNG.normal(size=(7, 3)), RNG.normal(size=(7, 4))
    kx, ky = x @ x.T, y @ y.T
    assert analysis._hsic_unbiased(kx, ky) == pytest.approx(hsic_u_statistic(kx, ky), rel=1e-9)
    want = hsic_u_statistic(kx, ky) / np.sqrt(hsic_u_statistic(kx, kx) * hsic_u_statistic(ky, ky))
    assert analysis.linear_cka(x, y, debiased=True) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_invariants(debiased):
    x = RNG.normal(size=(80, 16))
    y = np.tanh(x @ RNG.normal(size=(16, 10)))
    q, _ = np.linalg.qr(RNG.normal(size=(16, 16)))  # an orthogonal transform
    base = analysis.linear_cka(x, y, debiased)
    assert analysis.linear_cka(x, x, debiased) == pytest.approx(1.0, abs=1e-12)
    assert analysis.linear_cka(x @ q, y, debiased) == pytest.approx(base, rel=1e-9)
    assert analysis.linear_cka(3.7 * x, y, debiased) == pytest.approx(base, rel=1e-9)
    assert analysis.linear_cka(x, y, debiased) == pytest.approx(analysis.linear_cka(y, x, debiased))
    # not invariant to an arbitrary invertible linear map
    a = RNG.normal(size=(16, 16)) + np.diag(np.linspace(0.1, 20, 16))
    assert abs(analysis.linear_cka(x @ a, y, debiased) - base) > 1e-3


def test_minibatch_cka_approximates_full_cka():
    x = RNG.normal(size=(2048, 20))
    y = x[:, :10] @ RNG.normal(size=(10, 15)) + 0.5 * RNG.normal(size=(2048, 15))
    full = analysis.linear_cka(x, y, debiased=True)
    mb = analysis.MinibatchCKA()
    for start in range(0, 2048, 256):
        mb.update(x[start:start + 256], y[start:start + 256])
    assert mb.value() == pytest.approx(full, abs=0.03)
    m = analysis.cka_matrix([x[:300], y[:300]], [x[:300]], debiased=True)
    assert m.shape == (2, 1) and m[0, 0] == pytest.approx(1.0)


def test_activation_reuse_counts():
    # iteration-major features of 1 image, 3 filters, 2x2 pixels
    f = torch.zeros(3, 1, 3, 2, 2)
    f[0, 0, 0] = torch.tensor([[1.0, 1.0], [1.0, 1.0]])  # filter 0: 4 positives at iteration 1
    f[1, 0, 0] = torch.tensor([[1.0, 1.0], [-1.0, 0.0]])  # 2 at iteration 2
    f[2, 0, 1] = 1.0  # filter 1: only at iteration 3; filter 2 never active
    out = analysis.activation_reuse(list(f))
    assert out["pairs"] == 2
    assert sorted(out["ratios"].tolist()) == [0.0, 0.0, 0.0, 0.5]
    assert out["frac_pairs_used_everywhere"] == 0.0


def test_linear_probes_separate_what_is_separable():
    y = RNG.integers(0, 3, 300)
    good = np.eye(3)[y] + 0.1 * RNG.normal(size=(300, 3))
    noise = RNG.normal(size=(300, 3))
    res = analysis.linear_probes([good[:200], noise[:200]], y[:200],
                                 [good[200:], noise[200:]], y[200:])
    assert res[0]["test_acc"] == 100.0 and res[1]["test_acc"] < 60.0


# --------------------------------------------------------------------------- feature visualisation
def blocky_digits(n=32, seed=0):
    """Digit-like reference images: 8×8 binary blocks upscaled ×4, normalised."""
    g = torch.Generator().manual_seed(seed)
    ink = (torch.rand(n, 1, 8, 8, generator=g) > 0.7).float()
    return (ink.repeat_interleave(4, 2).repeat_interleave(4, 3) - 0.3) / 0.4


@pytest.fixture(scope="module")
def vis_setup():
    """An untrained recurrent ConvNet (no BatchNorm), a reference batch, 16 random images
    with the visualisation's brightness and range, and the filters of iteration 2 that
    every random image excites."""
    torch.manual_seed(0)
    net = build_model("convnet", recurrent=True, depth=6, dataset="digits", width=16)
    ref = blocky_digits()
    rand = visualise._projector(ref, "mean")(
        torch.randn(16, 1, 32, 32, generator=torch.Generator().manual_seed(1)))
    alive = [f for f in range(16) if (visualise.activation_norm(net, rand, 2, f) > 0).all()]
    assert len(alive) >= 8
    return net, ref, rand, alive


@pytest.fixture(scope="module")
def vis_images(vis_setup):
    """The image of every live filter (100 steps), made from a net in training mode, and
    whether the net was left as found."""
    net, ref, _, alive = vis_setup
    net.train()
    imgs = {f: visualise.visualise_filter(net, module=2, channel=f, steps=100, lr=0.1,
                                          reference=ref).images for f in alive}
    left_as_found = all(p.requires_grad for p in net.parameters()) and net.training
    net.eval()
    return imgs, left_as_found


def test_feature_visualisation_raises_the_activation_above_random_images(vis_setup, vis_images):
    net, ref, rand, alive = vis_setup
    imgs, left_as_found = vis_images
    ratios = []
    for f, img in imgs.items():
        assert img.shape == (1, 1, 32, 32) and torch.isfinite(img).all()
        # the image keeps the reference's brightness and range
        assert img.mean().item() == pytest.approx(ref.mean().item(), abs=0.05)
        assert ref.min() - 1e-6 <= img.min() and img.max() <= ref.max() + 1e-6
        ratios.append((visualise.activation_norm(net, img, 2, f)
                       / visualise.activation_norm(net, rand, 2, f).mean()).item())
    ratios = torch.tensor(ratios)
    # every filter gains (≥ 1.1× the random images' mean activation norm); half of them
    # by ≥ 1.5×, the best by ≥ 5×.  Filters that mostly follow the brightness, which is
    # held fixed, cannot gain much; without optimisation the median stays near 1.
    assert ratios.min() >= 1.1 and ratios.median() >= 1.5 and ratios.max() >= 5.0, ratios
    assert left_as_found  # mode and requires_grad


def test_feature_visualisation_is_filter_specific_and_deterministic(vis_setup, vis_images):
    net, ref, _, alive = vis_setup
    imgs = vis_images[0]
    corr = torch.tensor([abs(np.corrcoef(imgs[a].flatten(), imgs[b].flatten())[0, 1])
                         for a, b in itertools.combinations(alive, 2)])
    assert corr.median() < 0.3 and corr.max() < 0.9, corr  # different filters, other images
    settings = visualise.FilterSettings(steps=100, lr=0.1)
    again = visualise.visualise_filter(net, module=2, channel=alive[0], reference=ref,
                                       settings=settings)
    assert torch.equal(again.images, imgs[alive[0]])  # the same seed, the same image
    other = visualise.visualise_filter(net, module=2, channel=alive[0], reference=ref,
                                       settings=settings, seed=1)  # a keyword overrides
    assert other.settings.seed == 1 and not torch.equal(other.images, imgs[alive[0]])
    batch = visualise.visualise_filter(net, module=2, channel=alive[0], steps=5, lr=0.1,
                                       reference=ref, batch=3).images
    shown = visualise.to_display(batch)
    assert batch.shape == (3, 1, 32, 32) and shown.shape == (3, 32, 32)
    assert np.allclose(shown.min((1, 2)), 0.0) and np.allclose(shown.max((1, 2)), 1.0)
    assert visualise.to_display(batch[0]).shape == (32, 32)


def test_regulariser_weights_grow_linearly_to_the_paper_values():
    first, last = visualise.regulariser_weights(1, 5), visualise.regulariser_weights(5, 5)
    assert first == {"main": 1.0, "tv": 0.0, "bn": 0.0}
    assert last == pytest.approx({"main": 0.64, "tv": 1.0, "bn": 10.0})  # paper A.6, CIFAR-10
    ws = [visualise.regulariser_weights(k, 5) for k in range(1, 6)]
    for key, step in (("main", -0.09), ("tv", 0.25), ("bn", 2.5)):
        assert np.allclose(np.diff([w[key] for w in ws]), step)  # linear in depth
    assert visualise.regulariser_weights(3, 4) == pytest.approx(
        {"main": 1.0 - 0.36 * 2 / 3, "tv": 2 / 3, "bn": 20 / 3})
    assert visualise.regulariser_weights(1, 1) == first
    for module in (0, 6, 2.0, True):
        with pytest.raises(ValueError, match=r"module = .* use an integer in 1\.\.5"):
            visualise.regulariser_weights(module, 5)


def stats_distance(h, mean, var):
    """DeepInversion's distance of a batch's per-channel statistics from (mean, var)."""
    m, v = h.mean((0, 2, 3)), h.var((0, 2, 3), unbiased=False)
    return ((m - mean).norm() + (v - var).norm()).item()


def test_statistics_prior_pulls_the_first_layer_towards_the_data(vis_setup):
    net, ref, _, alive = vis_setup
    mean, var = visualise.first_layer_statistics(net, ref)
    dist = {}
    for bn in (0.0, 10.0):
        img = visualise.visualise_filter(net, module=3, channel=alive[0], steps=60, lr=0.1,
                                         reference=ref, bn=bn, batch=4).images
        m, v = visualise.first_layer_statistics(net, img)
        dist[bn] = ((m - mean).norm() + (v - var).norm()).item()
    assert dist[10.0] < 0.7 * dist[0.0], dist
    with pytest.raises(ValueError):  # no BatchNorm and no reference: no statistics to match
        visualise.visualise_filter(net, module=1, channel=0, steps=1, bn=1.0, shape=(1, 1, 32, 32))

    # a net with BatchNorm: the first BatchNorm's input is pulled towards its running statistics
    torch.manual_seed(0)
    bn_net = build_model("resnet_bn", recurrent=True, depth=7, dataset="digits", width=8).eval()
    first = next(m for m in bn_net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    seen = {}
    hook = first.register_forward_hook(lambda m, i, o: seen.__setitem__("h", i[0]))
    dist = {}
    for bn in (0.0, 10.0):
        img = visualise.visualise_filter(bn_net, module=1, channel=0, steps=40, lr=0.1, bn=bn,
                                         shape=(4, 1, 32, 32)).images
        with torch.no_grad():
            bn_net(img)
        dist[bn] = stats_distance(seen["h"], first.running_mean, first.running_var)
    hook.remove()
    assert dist[10.0] < 0.5 * dist[0.0], dist


def test_a_filter_dead_by_construction_is_marked_silent(vis_setup):
    """A filter whose weights are 0 and bias negative never passes its ReLU: its images are
    meaningless, and the result says so; a live filter's are not marked."""
    net, ref, _, alive = vis_setup
    dead = copy.deepcopy(net)
    with torch.no_grad():
        dead.blocks[0].conv.weight[alive[0]] = 0.0
        dead.blocks[0].conv.bias[alive[0]] = -1.0
    for n, f, silent in ((dead, alive[0], True), (dead, alive[1], False), (net, alive[0], False)):
        out = visualise.visualise_filter(n, module=2, channel=f, steps=5, lr=0.1, reference=ref,
                                         batch=2, candidates=2)
        assert out.silent.tolist() == [silent] * 2 and (out.module, out.channel) == (2, f)
        with torch.no_grad():  # the activation, straight from the trace, not activation_norm
            h = n.trace(out.images, iterations=2, outputs=False)["features"][1][:, f]
        assert torch.equal(out.activation, h.flatten(1).norm(dim=1))


def test_modules_count_from_one(vis_setup):
    """Module k is the output of the k-th module (iteration): module 1 is the shared module
    applied once to the prelude's output, module 2 twice."""
    net, ref, _, alive = vis_setup
    x, f = ref[:5], alive[0]
    with torch.no_grad():
        h1 = net.blocks[0](net.prelude(x))
        h2 = net.blocks[0](h1)
    for k, h in ((1, h1), (2, h2)):
        assert torch.allclose(visualise.activation_norm(net, x, k, f),
                              h[:, f].flatten(1).norm(dim=1), rtol=1e-5, atol=1e-6)
    # a recurrent net may be asked for more iterations than it was trained with
    assert visualise.activation_norm(net, x, net.iterations + 2, f).shape == (5,)


@pytest.mark.parametrize("module, channel, match", [
    (0, 0, r"module = 0 .* use an integer >= 1"),
    (True, 0, r"module = True .* use an integer >= 1"),
    (4, 0, r"module = 4 .* use an integer in 1\.\.3"),  # the feed-forward net has 3 modules
    (1, -1, r"channel = -1 .* use an integer >= 0"),
    (1, 16, r"channel = 16 .* use an integer in 0\.\.15"),  # width 16
])
def test_visualise_filter_names_a_bad_index_and_its_range(vis_setup, module, channel, match):
    ff = unroll(vis_setup[0]).train()
    with pytest.raises(ValueError, match=match):
        visualise.visualise_filter(ff, module, channel, steps=1, reference=vis_setup[1])
    assert all(p.requires_grad for p in ff.parameters()) and ff.training  # left as found


@pytest.mark.parametrize("options, name", [
    ({"steps": -1}, "steps"), ({"batch": 0}, "batch"), ({"candidates": 0}, "candidates"),
    ({"jitter": 1.5}, "jitter"), ({"project": "clip"}, "project"), ({"lr": 0.0}, "lr"),
    ({"tv": float("nan")}, "tv"), ({"shape": (32, 32)}, "shape")])
def test_filter_settings_are_validated_on_creation(options, name):
    with pytest.raises(ValueError, match=rf"^{name} = "):
        visualise.FilterSettings(**options)
    with pytest.raises(TypeError):  # an unknown option is an error, not ignored
        visualise.visualise_filter(None, 1, 0, stepz=10)
