r"""优化算法的从零实现：每个优化器都对应一种对“一阶矩 $m_t$、二阶矩 $V_t$”的选择。

本章的统一视角：第 $t$ 步拿到梯度 $g_t$ 后，先算出一阶矩 $m_t$（往哪走）和二阶矩 $V_t$
（每个坐标的步子按多大的尺度缩小），然后

$$
\Delta w_t = \mathrm{lr}\cdot \frac{m_t}{\sqrt{V_t} + \epsilon}, \qquad w_{t+1} = w_t - \Delta w_t .
$$

| 优化器 | 一阶矩 $m_t$ | 二阶矩 $V_t$ |
| --- | --- | --- |
| :class:`SGD` | $g_t$ | $1$（且 $\epsilon = 0$） |
| 动量 :class:`SGD` | $b_t = \mu b_{t-1} + g_t$ | $1$ |
| :class:`Adagrad` | $g_t$ | $\sum_{k\le t} g_k^2$ |
| :class:`RMSprop` | $g_t$ | $\mathrm{EMA}_\alpha(g^2)_t$ |
| :class:`Adam` | $\mathrm{EMA}_{\beta_1}(g)_t$，偏差修正 | $\mathrm{EMA}_{\beta_2}(g^2)_t$，偏差修正 |

其中 :func:`ema` 是从 0 出发的指数移动平均 $e_t = \beta e_{t-1} + (1-\beta) x_t$。
平方、开方、除法都是逐元素的；权重衰减 $\lambda$（除 :class:`AdamW` 和 ``Adam(decoupled_weight_decay=True)`` 外）都是先把
$\lambda w_t$ 加到梯度上（L2 惩罚），下文的 $g_t$ 指加过之后的梯度。

每个类都是 ``torch.optim.Optimizer`` 的子类，可以直接换掉 ``torch.optim`` 里的同名优化器；
测试逐步对照两者的参数。:func:`trajectory` 记录优化器在二维函数上走过的点，供本章画图。

>>> w = torch.tensor([1.0, 1.0], requires_grad=True)
>>> opt = SGD([w], lr=0.1)
>>> w.grad = torch.tensor([2.0, 4.0])   # f(w) = w₁² + 2w₂² 在 (1, 1) 处的梯度
>>> opt.step()
>>> w.detach()
tensor([0.8000, 0.6000])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "RMSprop", "ema", "trajectory"]

Params = Iterable[Tensor] | Iterable[dict[str, Any]]
Closure = Callable[[], float | Tensor]


# ---------------------------------------------------------------------------
# 共用的小工具
# ---------------------------------------------------------------------------


def _check_at_least(name: str, value: float, low: float = 0.0) -> None:
    if not low <= value:  # 写成 not <= 是为了把 NaN 也挡住
        raise ValueError(f"无效的 {name}：应当 ≥ {low:g}，收到的是 {value!r}")


def _check_unit_interval(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"无效的 {name}：应当在 [0, 1) 内，收到的是 {value!r}")


def _evaluate(closure: Closure | None) -> float | Tensor | None:
    """``step(closure)`` 的约定：先在开启梯度的环境里重新算一次损失。"""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def _params_with_grad(group: dict[str, Any]) -> Iterator[tuple[Tensor, Tensor]]:
    """组内这一步有梯度的参数；``grad is None`` 的参数原样跳过，状态也不动。"""
    for p in group["params"]:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            raise RuntimeError("这里的从零实现不支持稀疏梯度")
        yield p, p.grad


def ema(xs: Tensor, beta: float, *, bias_correction: bool = False) -> Tensor:
    r"""沿第 0 维的指数移动平均 $e_t = \beta e_{t-1} + (1-\beta) x_t$，$e_0 = 0$。

    ``bias_correction=True`` 时再除以 $1 - \beta^t$：从 0 出发的平均在前几步偏小，
    除掉之后常数序列的平均就是它自己（Adam 的 $\hat m_t$、$\hat v_t$）。

    Args:
        xs: 形状 ``(T, ...)`` 的序列 $x_1, \dots, x_T$。
        beta: 衰减率 $\beta \in [0, 1)$。
        bias_correction: 是否除以 $1 - \beta^t$。

    Returns:
        与 ``xs`` 同形状的 $e_1, \dots, e_T$。

    >>> ema(torch.ones(3), 0.5)
    tensor([0.5000, 0.7500, 0.8750])
    >>> ema(torch.ones(3), 0.5, bias_correction=True)
    tensor([1., 1., 1.])

    整数序列先转成浮点数，平均值不会被截成整数：

    >>> ema(torch.tensor([1, 2, 3]), 0.5, bias_correction=True)
    tensor([1.0000, 1.6667, 2.4286])
    """
    _check_unit_interval("beta", beta)
    if xs.ndim == 0:
        raise ValueError("xs 应是一个序列（第 0 维是时间步），而不是零维张量")
    if not xs.is_floating_point():
        xs = xs.to(torch.get_default_dtype())
    out = torch.empty_like(xs)
    if len(xs) == 0:
        return out
    e = torch.zeros_like(xs[0])
    for t, x in enumerate(xs, start=1):
        e = beta * e + (1 - beta) * x
        out[t - 1] = e / (1 - beta**t) if bias_correction else e
    return out


# ---------------------------------------------------------------------------
# 优化器
# ---------------------------------------------------------------------------


class SGD(torch.optim.Optimizer):
    r"""小批量随机梯度下降，可选动量与 Nesterov 动量，与 ``torch.optim.SGD`` 一致。

    记 $\mu$ = ``momentum``，$\tau$ = ``dampening``：

    $$
    \begin{aligned}
    b_1 &= g_1, \qquad b_t = \mu b_{t-1} + (1-\tau)\, g_t \quad (t \ge 2), \\
    m_t &= \begin{cases} g_t + \mu b_t & \text{nesterov} \\ b_t & \text{否则} \end{cases},
    \qquad V_t = 1, \qquad w_{t+1} = w_t - \mathrm{lr}\cdot m_t .
    \end{aligned}
    $$

    ``momentum=0`` 时 $m_t = g_t$，就是最朴素的梯度下降。与课本写法的确切关系：

    - d2l 的 $v_t = \beta v_{t-1} + g_t$（$v_0 = 0$）与 PyTorch（$\mu = \beta$，$\tau = 0$）
      **完全相同**：$v_1 = g_1 = b_1$。
    - 指数移动平均写法 $v_t = \beta v_{t-1} + (1-\beta) g_t$（$v_0 = 0$，即
      :func:`ema`，Adam 的一阶矩也是它）对任何梯度序列都精确满足 $v_t = (1-\beta)\, b_t$。
      所以“EMA 写法、步长 $\eta$”等于“PyTorch、``lr`` $= (1-\beta)\,\eta$”。
    - 把 ``dampening`` 设成 $\beta$ **并不**得到 EMA 写法：PyTorch 第一步令
      $b_1 = g_1$ 而不是 $(1-\beta) g_1$，于是 $b_t = v_t + \beta^t g_1$，差别随步数几何衰减。
    - Nesterov：PyTorch 以 Sutskever 等人 (2013) 的 Nesterov 动量为基础，用改写后的形式 $g_t + \mu b_t$
      （这种改写见 Bengio 等人 2013），不需要在“向前看一步”的点上求梯度。

    动量缓冲 $b_t$ 存在 ``self.state[p]["momentum_buffer"]``（与 PyTorch 同名）。

    Args:
        params: 要优化的参数，或带各自超参数的参数组（字典）列表。
        lr: 学习率。
        momentum: 动量系数 $\mu \ge 0$。
        dampening: 从第二步起新梯度乘以 $1 - \tau$。
        weight_decay: L2 惩罚系数 $\lambda \ge 0$。
        nesterov: 是否用 Nesterov 动量（要求 ``momentum > 0`` 且 ``dampening = 0``）。

    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = w.detach().clone()   # f(w) = w²/2，梯度就是 w
    ...     opt.step()
    >>> opt.state[w]["momentum_buffer"]   # b₂ = 0.9 × 1 + 0.9
    tensor([1.8000])
    >>> w.detach()                        # 1 - 0.1 × 1 - 0.1 × 1.8
    tensor([0.7200])
    """

    def __init__(
        self,
        params: Params,
        lr: float,
        *,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        _check_at_least("lr", lr)
        _check_at_least("momentum", momentum)
        _check_at_least("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"Nesterov 动量要求 momentum > 0 且 dampening = 0，"
                f"收到的是 momentum={momentum!r}, dampening={dampening!r}"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> float | Tensor | None:
        loss = _evaluate(closure)
        for group in self.param_groups:
            mu, tau = group["momentum"], group["dampening"]
            for p, g in _params_with_grad(group):
                g = g + group["weight_decay"] * p
                if mu != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.clone()  # b₁ = g₁：第一步不乘 1 - τ
                    else:
                        state["momentum_buffer"].mul_(mu).add_(g, alpha=1 - tau)
                    b = state["momentum_buffer"]
                    g = g + mu * b if group["nesterov"] else b
                p.sub_(group["lr"] * g)
        return loss


class Adagrad(torch.optim.Optimizer):
    r"""Adagrad（Duchi 等人，2011），与 ``torch.optim.Adagrad`` 一致。

    $$
    \begin{aligned}
    s_t &= s_0 + \sum_{k \le t} g_k^2, \qquad m_t = g_t, \qquad V_t = s_t, \\
    w_{t+1} &= w_t - \mathrm{lr}_t \cdot \frac{g_t}{\sqrt{s_t} + \epsilon}, \qquad
    \mathrm{lr}_t = \frac{\mathrm{lr}}{1 + (t-1)\cdot \mathrm{lr\_decay}} .
    \end{aligned}
    $$

    累加量 $s_t$ 存在 ``self.state[p]["sum"]``。梯度一直很大的坐标 $s_t$ 长得快，
    步子就自动变小；因为只增不减，后期所有坐标的步子都会越来越小。

    **ε 的位置。** PyTorch（和 Duchi 的论文）把 ε 加在根号外：$g/(\sqrt{s}+\epsilon)$，
    默认 ``eps=1e-10``；d2l 写在根号里：$g/\sqrt{s+\epsilon}$，默认 ``1e-6``。
    ``eps_inside_sqrt=True`` 给出 d2l 的写法。两者只在 ``eps=0`` 时相同；``eps>0`` 时
    差别在 $s$ 小的坐标上最大（$s=0$ 时分母一个是 $\sqrt\epsilon$，一个是 $\epsilon$），
    不是一个常数因子，不能靠换一个 ε 互相转换。

    Args:
        params: 要优化的参数，或参数组列表。
        lr: 学习率。
        lr_decay: 学习率按 $1/(1 + (t-1)\cdot\mathrm{lr\_decay})$ 衰减，默认不衰减。
        eps: 分母里防止除以 0 的 $\epsilon \ge 0$。
        weight_decay: L2 惩罚系数 $\lambda \ge 0$。
        initial_accumulator_value: 累加量的初值 $s_0 \ge 0$。
        eps_inside_sqrt: 为真时用 d2l 的 $\sqrt{s+\epsilon}$（PyTorch 没有这个选项）。

    >>> w = torch.zeros(1, requires_grad=True)
    >>> opt = Adagrad([w], lr=1.0)
    >>> for _ in range(4):
    ...     w.grad = torch.ones(1)       # 常数梯度：第 t 步只走 1/√t
    ...     opt.step()
    >>> opt.state[w]["sum"]
    tensor([4.])
    >>> w.detach()                       # -(1 + 1/√2 + 1/√3 + 1/2)
    tensor([-2.7845])
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        *,
        lr_decay: float = 0.0,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps_inside_sqrt: bool = False,
    ) -> None:
        _check_at_least("lr", lr)
        _check_at_least("lr_decay", lr_decay)
        _check_at_least("eps", eps)
        _check_at_least("weight_decay", weight_decay)
        _check_at_least("initial_accumulator_value", initial_accumulator_value)
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps_inside_sqrt=eps_inside_sqrt,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> float | Tensor | None:
        loss = _evaluate(closure)
        for group in self.param_groups:
            eps = group["eps"]
            for p, g in _params_with_grad(group):
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["sum"] = torch.full_like(p, group["initial_accumulator_value"])
                state["step"] += 1
                g = g + group["weight_decay"] * p
                s = state["sum"].add_(g * g)  # V_t
                lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
                denom = (s + eps).sqrt() if group["eps_inside_sqrt"] else s.sqrt() + eps
                p.sub_(lr * g / denom)
        return loss


class RMSprop(torch.optim.Optimizer):
    r"""RMSprop（Hinton 的课程讲义，2012），与 ``torch.optim.RMSprop`` 一致。

    把 Adagrad 的累加换成指数移动平均，$\alpha$ = ``alpha``（d2l 记作 $\gamma$）：

    $$
    \begin{aligned}
    s_t &= \alpha s_{t-1} + (1-\alpha)\, g_t^2 \quad (s_0 = 0), \qquad
    m_t = g_t, \qquad V_t = s_t, \\
    w_{t+1} &= w_t - \mathrm{lr}\cdot \frac{g_t}{\sqrt{V_t} + \epsilon} .
    \end{aligned}
    $$

    ``centered=True`` 是 Graves (2013) 的变体：另记梯度的移动平均
    $\bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t$，用方差 $V_t = s_t - \bar g_t^2$
    代替二阶矩。``momentum`` $= \mu > 0$ 时改为
    $b_t = \mu b_{t-1} + g_t/(\sqrt{V_t}+\epsilon)$、$w_{t+1} = w_t - \mathrm{lr}\cdot b_t$
    （$b_0 = 0$）。状态 ``square_avg``、``grad_avg``、``momentum_buffer`` 与 PyTorch 同名。

    注意：$s_t$ 没有偏差修正（PyTorch 与 d2l 都如此），前几步 $s_t$ 偏小、步子偏大（Adam 修正了这一点）；
    ε 的位置与 :class:`Adagrad` 相同，PyTorch 在根号外，d2l 在根号里
    （``eps_inside_sqrt=True``），两者只在 ``eps=0`` 时相同。参数检查比 PyTorch 严一点：
    ``alpha`` 必须在 [0, 1) 内（PyTorch 只要求 ≥ 0，而 ``alpha=1`` 时 $s_t$ 永远是 0）。

    Args:
        params: 要优化的参数，或参数组列表。
        lr: 学习率。
        alpha: 平方梯度移动平均的衰减率 $\alpha \in [0, 1)$。
        eps: 分母里的 $\epsilon \ge 0$。
        weight_decay: L2 惩罚系数 $\lambda \ge 0$。
        momentum: 动量系数 $\mu \ge 0$。
        centered: 是否减去梯度均值的平方。
        eps_inside_sqrt: 为真时用 d2l 的 $\sqrt{V+\epsilon}$（PyTorch 没有这个选项）。

    >>> w = torch.zeros(1, requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01, alpha=0.9)
    >>> w.grad = torch.ones(1)
    >>> opt.step()
    >>> opt.state[w]["square_avg"]       # s₁ = 0.1 × 1²，没有偏差修正
    tensor([0.1000])
    >>> w.detach()                       # 第一步走了 lr/√0.1 ≈ 3.16 lr
    tensor([-0.0316])
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        *,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        eps_inside_sqrt: bool = False,
    ) -> None:
        _check_at_least("lr", lr)
        _check_unit_interval("alpha", alpha)
        _check_at_least("eps", eps)
        _check_at_least("weight_decay", weight_decay)
        _check_at_least("momentum", momentum)
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            eps_inside_sqrt=eps_inside_sqrt,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> float | Tensor | None:
        loss = _evaluate(closure)
        for group in self.param_groups:
            alpha, eps, mu = group["alpha"], group["eps"], group["momentum"]
            for p, g in _params_with_grad(group):
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = torch.zeros_like(p)
                    if mu > 0:
                        state["momentum_buffer"] = torch.zeros_like(p)
                g = g + group["weight_decay"] * p
                V = state["square_avg"].mul_(alpha).add_((1 - alpha) * g * g)
                if group["centered"]:
                    g_bar = state["grad_avg"].mul_(alpha).add_((1 - alpha) * g)
                    V = V - g_bar * g_bar
                denom = (V + eps).sqrt() if group["eps_inside_sqrt"] else V.sqrt() + eps
                if mu > 0:
                    b = state["momentum_buffer"].mul_(mu).add_(g / denom)
                    p.sub_(group["lr"] * b)
                else:
                    p.sub_(group["lr"] * g / denom)
        return loss


class Adam(torch.optim.Optimizer):
    r"""Adam（Kingma 与 Ba，2015），与 ``torch.optim.Adam`` 一致。

    一阶矩、二阶矩都是从 0 出发的指数移动平均，再做偏差修正（见 :func:`ema`）：

    $$
    \begin{aligned}
    m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \\
    \hat m_t &= \frac{m_t}{1-\beta_1^t}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t}, \qquad
    w_{t+1} = w_t - \mathrm{lr}\cdot \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} .
    \end{aligned}
    $$

    统一视角里 $m_t \to \hat m_t$、$V_t \to \hat v_t$：动量 + RMSprop + 偏差修正。
    ε 加在 $\sqrt{\hat v_t}$ 之外，这正是论文算法 1 与 d2l 的写法，三者完全相同。
    （论文第 2 节末给出的“高效写法”把 ε 换成 $\hat\epsilon$，只有
    $\hat\epsilon = \epsilon\sqrt{1-\beta_2^t}$ 时才与算法 1 相同，有的框架按它实现。）

    ``amsgrad=True``（Reddi 等人，2018）把 $v_t$ 换成历史最大值 $\max_{k\le t} v_k$
    再做偏差修正，与 PyTorch 相同。``weight_decay`` 是加到梯度上的 L2 惩罚，会和梯度一起
    被 $\sqrt{\hat v_t}$ 缩放；想要解耦的权重衰减请用 :class:`AdamW`。
    状态 ``exp_avg``、``exp_avg_sq``、``max_exp_avg_sq``、``step`` 与 PyTorch 同名。

    Args:
        params: 要优化的参数，或参数组列表。
        lr: 学习率。
        betas: 一阶矩、二阶矩的衰减率 $(\beta_1, \beta_2)$，都在 [0, 1) 内。
        eps: 分母里的 $\epsilon \ge 0$。
        weight_decay: 权重衰减系数 $\lambda \ge 0$。
        amsgrad: 是否用 AMSGrad 变体。
        decoupled_weight_decay: 为真时按 AdamW 的方式衰减（与 PyTorch 2.7 起的同名选项一致）。

    >>> w = torch.zeros(2, requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad = torch.tensor([3.0, -0.001])
    >>> opt.step()
    >>> w.detach()    # 第一步 m̂ = g、v̂ = g²，每个坐标都走 lr，与梯度大小无关
    tensor([-0.1000,  0.1000])
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_at_least("lr", lr)
        _check_unit_interval("betas[0]", betas[0])
        _check_unit_interval("betas[1]", betas[1])
        _check_at_least("eps", eps)
        _check_at_least("weight_decay", weight_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> float | Tensor | None:
        loss = _evaluate(closure)
        for group in self.param_groups:
            (beta1, beta2), lr, wd = group["betas"], group["lr"], group["weight_decay"]
            for p, g in _params_with_grad(group):
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                if group["decoupled_weight_decay"]:
                    p.mul_(1 - lr * wd)  # AdamW：直接把权重缩小，不经过 m_t、V_t
                else:
                    g = g + wd * p
                m = state["exp_avg"].mul_(beta1).add_((1 - beta1) * g)
                v = state["exp_avg_sq"].mul_(beta2).add_((1 - beta2) * g * g)
                if group["amsgrad"]:
                    v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                p.sub_(lr * m_hat / (v_hat.sqrt() + group["eps"]))
        return loss


class AdamW(Adam):
    r"""AdamW（Loshchilov 与 Hutter，2019），与 ``torch.optim.AdamW`` 一致。

    与 :class:`Adam` 只差权重衰减的位置：先 $w \leftarrow (1 - \mathrm{lr}\cdot\lambda)\, w$，
    再用不含 $\lambda w$ 的梯度做 Adam 的一步。这样衰减不会被 $\sqrt{\hat v_t}$ 除掉，
    每个坐标缩小的比例都一样。默认 ``weight_decay=1e-2``，与 PyTorch 相同；
    其余参数同 :class:`Adam`。

    >>> w = torch.ones(1, requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = torch.zeros(1)   # 梯度为 0：只剩衰减 1 × (1 - 0.1 × 0.5)
    >>> opt.step()
    >>> w.detach()
    tensor([0.9500])
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=True,
        )


# ---------------------------------------------------------------------------
# 二维轨迹
# ---------------------------------------------------------------------------


def trajectory(
    optimizer_factory: Callable[[list[Tensor]], torch.optim.Optimizer],
    f: Callable[[Tensor], Tensor],
    x0: Sequence[float] | Tensor,
    *,
    steps: int,
) -> Tensor:
    r"""从 ``x0`` 出发用优化器最小化 ``f``，返回经过的点。

    第 0 行是 ``x0`` 本身，之后每步一行，可以直接交给画等高线图的函数。

    Args:
        optimizer_factory: 接收参数列表、返回优化器，例如 ``lambda p: SGD(p, lr=0.1)``；
            这里的从零实现和 ``torch.optim`` 里的都可以。
        f: 把一维张量映射成标量的函数。
        x0: 起点（一维）；整数会转成默认浮点类型，传入的张量不会被改动。
        steps: 走多少步。

    Returns:
        形状 ``(steps + 1, len(x0))`` 的张量。

    >>> f = lambda x: x[0] ** 2 + 2 * x[1] ** 2
    >>> # 每一步 x₁ ← 0.8 x₁，x₂ ← 0.6 x₂
    >>> trajectory(lambda p: SGD(p, lr=0.1), f, [1.0, 1.0], steps=2)
    tensor([[1.0000, 1.0000],
            [0.8000, 0.6000],
            [0.6400, 0.3600]])
    >>> adam = lambda p: torch.optim.Adam(p, lr=0.5)
    >>> trajectory(adam, f, [1.0, 1.0], steps=20).shape
    torch.Size([21, 2])
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps 应当是非负整数，收到的是 {steps!r}")
    x = torch.as_tensor(x0)
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if x.ndim != 1:
        raise ValueError(f"x0 应当是一维的点，收到的形状是 {tuple(x.shape)}")
    x = x.detach().clone().requires_grad_(True)  # 不改动调用者的张量
    optimizer = optimizer_factory([x])
    points = [x.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss = f(x)
        if loss.ndim != 0:
            raise ValueError(f"f 应当返回标量，收到的形状是 {tuple(loss.shape)}")
        loss.backward()
        optimizer.step()
        points.append(x.detach().clone())
    return torch.stack(points)
