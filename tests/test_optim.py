"""dlbook.optim 的从零实现逐步对照 torch.optim：SGD、Adagrad、RMSprop、Adam、AdamW。"""

from __future__ import annotations

import copy

import pytest
import torch
from torch.testing import assert_close

from dlbook import optim
from dlbook.optim import SGD, Adagrad, Adam, AdamW, RMSprop, ema, trajectory

DTYPE = torch.float64  # 双精度：与 PyTorch 的差别只剩运算顺序带来的舍入
STEPS = 50
SHAPES = [(), (5,), (3, 4), (2, 3, 3, 3)]  # 标量、向量、矩阵、卷积核

TORCH = {
    SGD: torch.optim.SGD,
    Adagrad: torch.optim.Adagrad,
    RMSprop: torch.optim.RMSprop,
    Adam: torch.optim.Adam,
    AdamW: torch.optim.AdamW,
}

CASES = [
    (SGD, {}),
    (SGD, {"momentum": 0.9}),
    (SGD, {"momentum": 1.0}),  # 区间的闭端：动量不衰减
    (SGD, {"momentum": 0.9, "dampening": 0.5}),
    (SGD, {"momentum": 0.9, "nesterov": True}),
    (SGD, {"momentum": 0.5, "weight_decay": 0.1}),
    (SGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (Adagrad, {}),
    (Adagrad, {"weight_decay": 0.1}),
    (Adagrad, {"initial_accumulator_value": 0.5, "eps": 1e-3}),
    (Adagrad, {"lr_decay": 0.01}),
    (RMSprop, {}),
    (RMSprop, {"alpha": 0.9, "eps": 1e-3}),
    (RMSprop, {"centered": True}),
    (RMSprop, {"momentum": 0.9}),
    (RMSprop, {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    (Adam, {}),
    (Adam, {"betas": (0.5, 0.9)}),
    (Adam, {"amsgrad": True}),
    (Adam, {"weight_decay": 0.1}),
    (Adam, {"amsgrad": True, "weight_decay": 0.1, "eps": 1e-3}),
    (AdamW, {}),
    (AdamW, {"weight_decay": 0.1, "amsgrad": True}),
]


def _case_id(case: tuple) -> str:
    cls, kwargs = case
    return cls.__name__ + "".join(f"-{k}={v}" for k, v in kwargs.items())


def _make_params(seed: int, dtype: torch.dtype = DTYPE) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in SHAPES]


def _groups(params: list[torch.Tensor]) -> list[dict]:
    """两个参数组：第二组有自己的学习率。"""
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.03}]


def _set_grads(params: list[torch.Tensor], step: int, gen: torch.Generator) -> None:
    """梯度 = 0.5 w + 噪声（带噪声的二次损失）；第 1 个参数每 3 步、第 3 个参数每 4 步没有梯度。"""
    for i, p in enumerate(params):
        noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
        skip = (i == 1 and step % 3 == 0) or (i == 3 and step % 4 == 1)
        p.grad = None if skip else 0.5 * p.detach() + noise


def _run(opt: torch.optim.Optimizer, params: list[torch.Tensor], steps: int, seed: int) -> list:
    gen = torch.Generator().manual_seed(seed)
    history = []
    for step in range(steps):
        _set_grads(params, step, gen)
        opt.step()
        history.append([p.detach().clone() for p in params])
    return history


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_torch(case):
    cls, kwargs = case
    ours_params, torch_params = _make_params(0), _make_params(0)
    ours = cls(_groups(ours_params), 0.1, **kwargs)
    theirs = TORCH[cls](_groups(torch_params), 0.1, **kwargs)
    ours_history = _run(ours, ours_params, STEPS, seed=1)
    torch_history = _run(theirs, torch_params, STEPS, seed=1)
    for step, (a, b) in enumerate(zip(ours_history, torch_history, strict=True)):
        for x, y in zip(a, b, strict=True):
            assert_close(x, y, rtol=1e-10, atol=1e-12, msg=lambda m: f"第 {step + 1} 步：{m}")
    # 参数确实动了
    assert not torch.equal(ours_history[-1][0], _make_params(0)[0])
    # 每个参数的状态里存的就是 PyTorch 存的那些量（例如动量为 0 时没有动量缓冲）
    for a, b in zip(ours_params, torch_params, strict=True):
        expected = set(theirs.state[b]) - ({"step"} if cls is RMSprop else set())  # 这里的 RMSprop 用不着步数
        assert set(ours.state[a]) == expected


@pytest.mark.parametrize("cls", [SGD, Adagrad, RMSprop, Adam, AdamW])
def test_matches_torch_float32(cls):
    ours_params, torch_params = _make_params(2, torch.float32), _make_params(2, torch.float32)
    kwargs = {"momentum": 0.9} if cls is SGD else {}
    ours = cls(ours_params, 0.01, **kwargs)
    theirs = TORCH[cls](torch_params, 0.01, **kwargs)
    _run(ours, ours_params, 20, seed=3)
    _run(theirs, torch_params, 20, seed=3)
    for x, y in zip(ours_params, torch_params, strict=True):
        assert_close(x, y)


def test_param_without_grad_keeps_value_and_state():
    params = _make_params(0)
    frozen = params[1].detach().clone()
    opt = Adam(params, lr=0.1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        _set_grads(params, 0, gen)  # step 0：第 1 个参数没有梯度
        opt.step()
    assert torch.equal(params[1].detach(), frozen)
    assert params[1] not in opt.state
    assert opt.state[params[0]]["step"] == 3


def test_closure_is_called_with_grad_enabled():
    w = torch.tensor([1.0, -2.0], dtype=DTYPE, requires_grad=True)
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0
    assert_close(w.detach(), torch.tensor([0.5, -1.0], dtype=DTYPE))


BAD = [
    (SGD, {"lr": -0.1}, "lr"),
    (SGD, {"momentum": -0.5}, "momentum"),
    (SGD, {"weight_decay": -1e-4}, "weight_decay"),
    (SGD, {"nesterov": True}, "Nesterov"),
    (SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Nesterov"),
    (Adagrad, {"lr": -1.0}, "lr"),
    (Adagrad, {"lr_decay": -0.1}, "lr_decay"),
    (Adagrad, {"eps": -1e-10}, "eps"),
    (Adagrad, {"weight_decay": -0.1}, "weight_decay"),
    (Adagrad, {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    (RMSprop, {"lr": -1.0}, "lr"),
    (RMSprop, {"alpha": -0.1}, "alpha"),
    (RMSprop, {"eps": -1.0}, "eps"),
    (RMSprop, {"momentum": -0.1}, "momentum"),
    (RMSprop, {"weight_decay": -0.1}, "weight_decay"),
    (Adam, {"lr": -1.0}, "lr"),
    (Adam, {"betas": (1.0, 0.999)}, r"betas\[0\]"),
    (Adam, {"betas": (-0.1, 0.999)}, r"betas\[0\]"),
    (Adam, {"betas": (0.9, 1.0)}, r"betas\[1\]"),
    (Adam, {"eps": -1e-8}, "eps"),
    (Adam, {"weight_decay": -0.1}, "weight_decay"),
    (AdamW, {"betas": (0.9, 1.5)}, r"betas\[1\]"),
    (AdamW, {"weight_decay": -0.1}, "weight_decay"),
]


@pytest.mark.parametrize("cls,kwargs,match", BAD, ids=[_case_id(c[:2]) for c in BAD])
def test_bad_hyperparameters(cls, kwargs, match):
    kwargs = {"lr": 0.1, **kwargs}
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        cls([w], **kwargs)
    with pytest.raises(ValueError):  # PyTorch 同样拒绝
        TORCH[cls]([w], **kwargs)


STRICTER = [
    (RMSprop, {"alpha": 1.0}, "alpha"),  # alpha = 1 时 s_t 永远是 0
    (RMSprop, {"alpha": 1.5}, "alpha"),
    (SGD, {"lr": float("nan")}, "lr"),
    (Adam, {"eps": float("nan")}, "eps"),
]


@pytest.mark.parametrize("cls,kwargs,match", STRICTER, ids=[_case_id(c[:2]) for c in STRICTER])
def test_stricter_than_torch(cls, kwargs, match):
    """PyTorch 放过（或不一定拒绝）的几个取值，这里也拒绝。"""
    with pytest.raises(ValueError, match=match):
        cls([torch.zeros(2, requires_grad=True)], **{"lr": 0.1, **kwargs})


@pytest.mark.parametrize("cls", [SGD, Adagrad, RMSprop, Adam, AdamW])
def test_defaults_are_torchs(cls):
    """没有给的超参数取 PyTorch 的默认值（SGD 的 lr 除外：这里必须写出来）。"""
    kwargs = {"lr": 0.1} if cls is SGD else {}
    ours = cls([torch.zeros(2, requires_grad=True)], **kwargs).defaults
    theirs = TORCH[cls]([torch.zeros(2, requires_grad=True)], **kwargs).defaults
    shared = set(ours) & set(theirs)
    assert {"lr", "weight_decay"} <= shared
    assert {k: ours[k] for k in shared} == {k: theirs[k] for k in shared}


BOUNDARY = [
    (SGD, {"momentum": 0.0, "weight_decay": 0.0}),
    (Adagrad, {"lr_decay": 0.0, "eps": 0.0, "initial_accumulator_value": 0.0}),
    (RMSprop, {"alpha": 0.0, "eps": 0.0, "momentum": 0.0}),
    (Adam, {"betas": (0.0, 0.0), "eps": 0.0}),
    (AdamW, {"betas": (0.0, 0.0), "weight_decay": 0.0}),
]


@pytest.mark.parametrize("cls,kwargs", BOUNDARY, ids=[_case_id(c) for c in BOUNDARY])
def test_boundary_hyperparameters_are_accepted(cls, kwargs):
    # 区间的闭端（0）是合法的取值，和 PyTorch 一样
    w = torch.zeros(2, requires_grad=True)
    for factory in (cls, TORCH[cls]):
        factory([w], lr=0.1, **kwargs)


@pytest.mark.parametrize("cls", [SGD, Adagrad, RMSprop, Adam, AdamW])
def test_sparse_gradients_are_refused(cls):
    w = torch.zeros(3, requires_grad=True)
    w.grad = torch.zeros(3).to_sparse()
    with pytest.raises(RuntimeError, match="稀疏梯度"):
        cls([w], lr=0.1).step()


def test_error_message_names_value():
    with pytest.raises(ValueError, match=r"无效的 lr.*-0\.5"):
        Adam([torch.zeros(1, requires_grad=True)], lr=-0.5)


STATEFUL = [
    (SGD, {"momentum": 0.9, "nesterov": True}),
    (Adagrad, {"lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    (RMSprop, {"centered": True, "momentum": 0.5}),
    (Adam, {"amsgrad": True, "weight_decay": 0.1}),
    (AdamW, {}),
]


@pytest.mark.parametrize("case", STATEFUL, ids=_case_id)
def test_state_dict_round_trip(case):
    """中途保存 state_dict，装进一个新的优化器接着训练，应与不中断的结果一致。"""
    cls, kwargs = case
    params = _make_params(0)
    opt = cls(_groups(params), 0.1, **kwargs)
    full = _run(opt, params, 20, seed=5)

    params = _make_params(0)
    opt = cls(_groups(params), 0.1, **kwargs)
    gen = torch.Generator().manual_seed(5)
    for step in range(10):
        _set_grads(params, step, gen)
        opt.step()
    saved_state = copy.deepcopy(opt.state_dict())
    saved_params = [p.detach().clone() for p in params]
    del opt

    resumed = [p.clone().requires_grad_() for p in saved_params]
    opt = cls(_groups(resumed), 0.1, **kwargs)
    opt.load_state_dict(saved_state)
    for step in range(10, 20):
        _set_grads(resumed, step, gen)
        opt.step()
    for x, y in zip(resumed, full[-1], strict=True):
        assert_close(x.detach(), y, rtol=0, atol=0)


# ---------------------------------------------------------------------------
# 课本写法与 PyTorch 写法的关系（文档字符串里写明的那些）
# ---------------------------------------------------------------------------


def _grad_sequence(steps: int = 30, shape: tuple[int, ...] = (4,), seed: int = 7) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn((steps, *shape), generator=g, dtype=DTYPE)


def _apply(opt_factory, grads: torch.Tensor) -> tuple[torch.Tensor, torch.optim.Optimizer]:
    """把与参数无关的一串梯度依次喂给优化器，返回每步之后的参数。"""
    w = torch.zeros(grads.shape[1:], dtype=DTYPE, requires_grad=True)
    opt = opt_factory([w])
    out = []
    for g in grads:
        w.grad = g.clone()
        opt.step()
        out.append(w.detach().clone())
    return torch.stack(out), opt


def test_d2l_momentum_equals_torch():
    """d2l：v ← βv + g，w ← w − ηv，与 PyTorch 的 SGD(momentum=β) 完全相同。"""
    grads, beta, eta = _grad_sequence(), 0.9, 0.05
    v, w, expected = torch.zeros(4, dtype=DTYPE), torch.zeros(4, dtype=DTYPE), []
    for g in grads:
        v = beta * v + g
        w = w - eta * v
        expected.append(w)
    for cls in (SGD, torch.optim.SGD):
        got, _ = _apply(lambda p: cls(p, lr=eta, momentum=beta), grads)
        assert_close(got, torch.stack(expected))


def test_ema_momentum_is_torch_momentum_with_rescaled_lr():
    """EMA 写法 v ← βv + (1−β)g 配步长 η，等于 PyTorch 动量配 lr = (1−β)η；且 v_t = (1−β) b_t。"""
    grads, beta, eta = _grad_sequence(), 0.9, 0.5
    v = ema(grads, beta)
    expected = -eta * v.cumsum(0)
    got, opt = _apply(lambda p: torch.optim.SGD(p, lr=(1 - beta) * eta, momentum=beta), grads)
    assert_close(got, expected)
    (w,) = opt.param_groups[0]["params"]
    assert_close(opt.state[w]["momentum_buffer"] * (1 - beta), v[-1])


def test_dampening_is_not_the_ema_form():
    """dampening = β 时 PyTorch 第一步 b₁ = g₁（不乘 1−β），于是 b_t = v_t + β^t g₁。"""
    grads, beta = _grad_sequence(), 0.8
    v = ema(grads, beta)
    w = torch.zeros(4, dtype=DTYPE, requires_grad=True)
    ours = SGD([w], lr=0.1, momentum=beta, dampening=beta)
    w2 = torch.zeros(4, dtype=DTYPE, requires_grad=True)
    theirs = torch.optim.SGD([w2], lr=0.1, momentum=beta, dampening=beta)
    for t, g in enumerate(grads, start=1):
        w.grad, w2.grad = g.clone(), g.clone()
        ours.step()
        theirs.step()
        for opt, p in ((ours, w), (theirs, w2)):
            b = opt.state[p]["momentum_buffer"]
            assert_close(b, v[t - 1] + beta**t * grads[0])
            assert not torch.allclose(b, v[t - 1])


def _d2l_adagrad(grads: torch.Tensor, lr: float, eps: float) -> torch.Tensor:
    s, w, out = torch.zeros_like(grads[0]), torch.zeros_like(grads[0]), []
    for g in grads:
        s = s + g**2
        w = w - lr * g / torch.sqrt(s + eps)
        out.append(w)
    return torch.stack(out)


def _d2l_rmsprop(grads: torch.Tensor, lr: float, gamma: float, eps: float) -> torch.Tensor:
    s, w, out = torch.zeros_like(grads[0]), torch.zeros_like(grads[0]), []
    for g in grads:
        s = gamma * s + (1 - gamma) * g**2
        w = w - lr * g / torch.sqrt(s + eps)
        out.append(w)
    return torch.stack(out)


def test_eps_inside_sqrt_is_d2l_form():
    grads = _grad_sequence()
    got, _ = _apply(lambda p: Adagrad(p, lr=0.1, eps=1e-2, eps_inside_sqrt=True), grads)
    assert_close(got, _d2l_adagrad(grads, 0.1, 1e-2))
    got, _ = _apply(lambda p: RMSprop(p, lr=0.1, alpha=0.9, eps=1e-2, eps_inside_sqrt=True), grads)
    assert_close(got, _d2l_rmsprop(grads, 0.1, 0.9, 1e-2))


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (
            lambda p, **kw: Adagrad(p, lr=0.1, eps_inside_sqrt=True, **kw),
            lambda p, **kw: torch.optim.Adagrad(p, lr=0.1, **kw),
        ),
        (
            lambda p, **kw: RMSprop(p, lr=0.1, alpha=0.9, eps_inside_sqrt=True, **kw),
            lambda p, **kw: torch.optim.RMSprop(p, lr=0.1, alpha=0.9, **kw),
        ),
    ],
    ids=["Adagrad", "RMSprop"],
)
def test_eps_placement_matters_only_when_eps_positive(ours, theirs):
    """ε 在根号里（d2l）与根号外（PyTorch）：eps = 0 时相同，eps > 0 时不同。"""
    grads = _grad_sequence()
    same_a, _ = _apply(lambda p: ours(p, eps=0.0), grads)
    same_b, _ = _apply(lambda p: theirs(p, eps=0.0), grads)
    assert_close(same_a, same_b)
    diff_a, _ = _apply(lambda p: ours(p, eps=1e-2), grads)
    diff_b, _ = _apply(lambda p: theirs(p, eps=1e-2), grads)
    assert (diff_a - diff_b).abs().max() > 1e-4


def test_d2l_adam_equals_torch():
    """d2l / 论文算法 1 的 Adam：ε 加在 √v̂ 之外，与 PyTorch 完全相同。"""
    grads, lr, b1, b2, eps = _grad_sequence(), 0.01, 0.9, 0.999, 1e-6
    m = v = w = torch.zeros(4, dtype=DTYPE)
    expected = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (torch.sqrt(v_hat) + eps)
        expected.append(w)
    for cls in (Adam, torch.optim.Adam):
        got, _ = _apply(lambda p: cls(p, lr=lr, betas=(b1, b2), eps=eps), grads)
        assert_close(got, torch.stack(expected))


def _unified(m: torch.Tensor, V: torch.Tensor, lr: float, eps: float) -> torch.Tensor:
    """统一视角：w_t = w_0 − Σ lr · m_k / (√V_k + ε)（梯度与参数无关时）。"""
    return -(lr * m / (V.sqrt() + eps)).cumsum(0)


def test_unified_view_first_and_second_moments():
    """模块文档里的表：每个优化器都是一次 (m_t, V_t) 的选择。"""
    g = _grad_sequence()
    one = torch.ones_like(g)
    table = [
        (lambda p: torch.optim.SGD(p, lr=0.1), g, one, 0.0),
        (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), ema(g, 0.9) / (1 - 0.9), one, 0.0),
        (lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-3), g, (g**2).cumsum(0), 1e-3),
        (lambda p: torch.optim.RMSprop(p, lr=0.1, alpha=0.9, eps=1e-3), g, ema(g**2, 0.9), 1e-3),
        (
            lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.9), eps=1e-3),
            ema(g, 0.8, bias_correction=True),
            ema(g**2, 0.9, bias_correction=True),
            1e-3,
        ),
    ]
    for factory, m, V, eps in table:
        got, _ = _apply(factory, g)
        assert_close(got, _unified(m, V, 0.1, eps))


def test_adamw_decay_is_not_scaled():
    """AdamW 的衰减不经过 √v̂：梯度为 0 时每步恰好乘 1 − lr·λ；Adam 的 L2 惩罚则被归一化。"""
    w = torch.full((3,), 2.0, dtype=DTYPE, requires_grad=True)
    opt = AdamW([w], lr=0.1, weight_decay=0.5)
    for _ in range(5):
        w.grad = torch.zeros_like(w)
        opt.step()
    assert_close(w.detach(), torch.full((3,), 2.0 * 0.95**5, dtype=DTYPE))


def test_ema_rejects_bad_beta():
    with pytest.raises(ValueError, match="beta"):
        ema(torch.ones(3), 1.0)


def test_ema_of_integers_is_not_truncated_and_an_empty_sequence_is_empty():
    ints = ema(torch.tensor([1, 2, 3]), 0.5)
    assert ints.dtype == torch.get_default_dtype()
    torch.testing.assert_close(ints, ema(torch.tensor([1.0, 2.0, 3.0]), 0.5))
    assert ema(torch.empty(0, 4), 0.9).shape == (0, 4)
    with pytest.raises(ValueError, match="零维"):
        ema(torch.tensor(1.0), 0.5)


# ---------------------------------------------------------------------------
# trajectory
# ---------------------------------------------------------------------------


def _quadratic(x: torch.Tensor) -> torch.Tensor:
    return x[0] ** 2 + 2 * x[1] ** 2


def test_trajectory_gradient_descent_closed_form():
    """f = x₁² + 2x₂²，lr = 0.1：x₁ ← (1 − 0.2) x₁，x₂ ← (1 − 0.4) x₂。"""
    x0 = torch.tensor([-2.0, 1.5], dtype=DTYPE)
    path = trajectory(lambda p: SGD(p, lr=0.1), _quadratic, x0, steps=20)
    assert path.shape == (21, 2)
    t = torch.arange(21, dtype=DTYPE)
    assert_close(path, torch.stack([-2.0 * 0.8**t, 1.5 * 0.6**t], dim=1))
    assert_close(x0, torch.tensor([-2.0, 1.5], dtype=DTYPE))  # 起点没有被改动


@pytest.mark.parametrize(
    "factory", [lambda p: Adam(p, lr=0.3), lambda p: torch.optim.RMSprop(p, lr=0.1)], ids=["ours", "torch"]
)
def test_trajectory_shape_and_start(factory):
    path = trajectory(factory, _quadratic, [3, -1], steps=7)
    assert path.shape == (8, 2)
    assert path.dtype == torch.get_default_dtype()
    assert_close(path[0], torch.tensor([3.0, -1.0]))
    assert not path.requires_grad
    assert _quadratic(path[-1]) < _quadratic(path[0])


def test_trajectory_of_zero_steps_is_the_start():
    path = trajectory(lambda p: SGD(p, lr=0.1), _quadratic, [3.0, -1.0], steps=0)
    assert_close(path, torch.tensor([[3.0, -1.0]]))


def test_trajectory_matches_torch_optimizer():
    ours = trajectory(lambda p: Adam(p, lr=0.2), _quadratic, [1.0, 1.0], steps=30)
    theirs = trajectory(lambda p: torch.optim.Adam(p, lr=0.2), _quadratic, [1.0, 1.0], steps=30)
    assert_close(ours, theirs)


@pytest.mark.parametrize(
    "x0,steps,match",
    [([1.0, 1.0], -1, "steps"), ([1.0, 1.0], 2.5, "steps"), ([1.0, 1.0], True, "steps"), ([[1.0, 1.0]], 3, "x0")],
)
def test_trajectory_bad_input(x0, steps, match):
    with pytest.raises(ValueError, match=match):
        trajectory(lambda p: SGD(p, lr=0.1), _quadratic, x0, steps=steps)


def test_trajectory_needs_scalar_f():
    with pytest.raises(ValueError, match="标量"):
        trajectory(lambda p: SGD(p, lr=0.1), lambda x: x**2, [1.0, 1.0], steps=1)


def test_public_names():
    assert set(optim.__all__) == {"SGD", "Adagrad", "Adam", "AdamW", "RMSprop", "ema", "trajectory"}
    assert all(issubclass(cls, torch.optim.Optimizer) for cls in TORCH)
