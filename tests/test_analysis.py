"""CKA against independent float64 references and its invariants; activation reuse,
probes and feature visualisation on cases with known answers."""
import itertools

import numpy as np
import pytest
import torch

from recur import analysis
from recur.models import build_model

RNG = np.random.default_rng(0)


def cka_reference(x, y):
    """Linear CKA in feature space: ||Yc'Xc||² / (||Xc'Xc|| ||Yc'Yc||) (Kornblith et al., eq. 4)."""
    x = x - x.mean(0)
    y = y - y.mean(0)
    return np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def hsic_u_statistic(k, l):
    """Song et al.'s unbiased HSIC straight from its definition: the mean over ordered
    4-tuples of distinct examples of k_ij l_ij + k_ij l_qr − 2 k_ij l_iq."""
    n = len(k)
    total, count = 0.0, 0
    for i, j, q, r in itertools.permutations(range(n), 4):
        total += k[i, j] * l[i, j] + k[i, j] * l[q, r] - 2 * k[i, j] * l[i, q]
        count += 1
    return total / count


def test_linear_cka_matches_the_feature_space_formula():
    x = RNG.normal(size=(50, 12))
    y = x @ RNG.normal(size=(12, 7)) + RNG.normal(size=(50, 7))
    assert analysis.linear_cka(x, y) == pytest.approx(cka_reference(x, y), rel=1e-10)


def test_unbiased_hsic_matches_its_u_statistic_definition():
    x, y = RNG.normal(size=(7, 3)), RNG.normal(size=(7, 4))
    k, l = x @ x.T, y @ y.T
    assert analysis._hsic_unbiased(k, l) == pytest.approx(hsic_u_statistic(k, l), rel=1e-9)
    want = hsic_u_statistic(k, l) / np.sqrt(hsic_u_statistic(k, k) * hsic_u_statistic(l, l))
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


def test_feature_visualisation_raises_the_activation():
    torch.manual_seed(0)
    net = build_model("convnet", recurrent=True, depth=6, dataset="digits", width=8)
    x0 = 0.1 * torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))  # the start image
    gains = []
    for f in range(8):
        before = net.trace(x0, outputs=False)["features"][1][:, f].norm().item()
        img = analysis.visualise_filter(net, layer=2, filter=f, shape=(1, 1, 32, 32), steps=40,
                                        lr=0.05, tv=0.1, l2=0.1)
        assert img.shape == (1, 1, 32, 32) and torch.isfinite(img).all()
        gains.append(net.trace(img, outputs=False)["features"][1][:, f].norm().item() - before)
    assert max(gains) > 1.0  # some filter, dead at the start image, is driven well above it
    assert all(p.requires_grad for p in net.parameters())  # the net is left as it was
    w = analysis.regulariser_weights(3, 4)
    assert w == pytest.approx({"l2": 0.48, "tv": 0.75, "bn": 7.5})
