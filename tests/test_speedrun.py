"""dlbook.speedrun：配方的各个零件、小设置下在 CPU 上的完整运行、命令行。"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlbook import speedrun
from dlbook.models import SpeedNet
from dlbook.speedrun import SpeedrunConfig, summarize, tta_accuracy, warmup_linear_decay
from dlbook.train import evaluate_accuracy

TINY = dict(device="cpu", epochs=1, batch_size=32, subset=256, test_subset=200, widths=(4, 8, 8, 8))

# 网络很小：单线程更快；准确率也不随机器的核数变（见 conftest）
pytestmark = pytest.mark.usefixtures("one_thread")


def test_schedule_matches_lambda_lr_and_ends_at_zero():
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_linear_decay(total_steps=10, warmup_steps=2))
    lrs = []
    for _ in range(10):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[:3] == pytest.approx([0.1, 0.2, 0.2])  # 升温两步到峰值，之后开始下降
    assert lrs[2:] == sorted(lrs[2:], reverse=True)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0)  # 最后一步之后为 0


@pytest.mark.parametrize("warmup_steps", [0, 10, 11])
def test_schedule_rejects_impossible_warmup(warmup_steps):
    with pytest.raises(ValueError, match="升温步数"):
        warmup_linear_decay(total_steps=10, warmup_steps=warmup_steps)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.Flatten(), nn.LazyLinear(4))


def test_tta_without_flip_is_plain_accuracy():
    model = _net()
    X, y = torch.randn(50, 1, 6, 6), torch.randint(0, 4, (50,))
    model(X[:1])  # 让 LazyLinear 确定形状
    assert tta_accuracy(model, X, y, flip=False, batch_size=16) == evaluate_accuracy(model, [(X, y)])


def test_tta_averages_the_probabilities_of_both_views():
    model = _net()
    X = torch.randn(50, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    model.train()
    with torch.no_grad():
        plain = F.softmax(model(X), dim=-1)
        probs = plain + F.softmax(model(X.flip(-1)), dim=-1)  # 左右翻转：翻的是宽（最后一维）
    y = probs.argmax(-1)  # 以两个视图的平均为“正确答案”：只有真的做了翻转、真的求了平均才全对
    assert (plain.argmax(-1) != y).sum() >= 3  # 只看原图会错几个
    assert tta_accuracy(model, X, y, batch_size=7) == 1.0
    assert tta_accuracy(model, X, y, flip=False, batch_size=7) < 1.0
    assert model.training  # 恢复原来的模式


def test_tta_rejects_mismatched_data():
    with pytest.raises(ValueError, match="应相等且不为 0"):
        tta_accuracy(_net(), torch.zeros(3, 1, 6, 6), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="X 有 0 个样本而 y 有 0 个"):
        tta_accuracy(_net(), torch.zeros(0, 1, 6, 6), torch.zeros(0, dtype=torch.long))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mode": "turbo"}, "未知的模式"), ({"epochs": 0}, "epochs"), ({"warmup": 1.0}, "warmup"),
     ({"warmup": 0.0}, "warmup"), ({"batch_size": 0}, "batch_size"), ({"lr": 0.0}, "lr")],
)
def test_config_checks_its_fields(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpeedrunConfig(**kwargs)


def test_config_accepts_the_smallest_valid_values():
    config = SpeedrunConfig(epochs=1, batch_size=1, warmup=0.01)
    assert (config.epochs, config.batch_size, config.warmup) == (1, 1, 0.01)
    assert tta_accuracy(_net(), torch.zeros(1, 1, 6, 6), torch.zeros(1, dtype=torch.long)) in (0.0, 1.0)  # 一个样本也行


def test_the_record_times_training_and_evaluation_separately():
    import time

    start = time.perf_counter()
    [record] = speedrun.run(SpeedrunConfig(mode="plain", **TINY))
    wall = time.perf_counter() - start
    assert 0 < record["train_seconds"] and 0 < record["eval_seconds"]
    assert record["train_seconds"] + record["eval_seconds"] <= wall
    steps = TINY["subset"] // TINY["batch_size"]  # 256 张、批量 32：每轮 8 步
    trained = steps * TINY["batch_size"] * TINY["epochs"]
    # 两个数都是舍入后记下的：用时舍入到毫秒，样本/秒舍入到 0.1（训练很快时，用时的相对误差可以很大）
    assert trained / record["examples_per_sec"] == pytest.approx(record["train_seconds"], abs=6e-4)


def test_run_is_reproducible_and_learns():
    config = SpeedrunConfig(mode="plain", **{**TINY, "epochs": 3, "subset": 512})
    first = speedrun.run(config, runs=2)
    again = speedrun.run(config, runs=1)
    assert [r["seed"] for r in first] == [0, 1]
    for key in ("train_acc", "test_acc", "test_acc_tta"):
        assert first[0][key] == again[0][key]  # 同一个种子，逐位相同
    accuracies = [tuple(r[key] for key in ("train_acc", "test_acc", "test_acc_tta")) for r in first]
    assert accuracies[0] != accuracies[1]  # 换了种子，结果也变（三个准确率恰好都相同几乎不可能）
    assert first[0]["test_acc_tta"] > 0.3  # 十类的随机猜测是 0.1；这里的设置下约 0.46
    record = first[0]
    assert record["params"] == sum(p.numel() for p in SpeedNet(widths=(4, 8, 8, 8)).parameters())
    assert record["train_examples"] == 512 and record["test_examples"] == 200
    assert record["compile_seconds"] == 0.0 and record["graphs_compiled_while_timed"] == 0
    json.dumps(record)  # 每条记录都能写成 JSON


def test_run_trains_in_bfloat16_but_evaluates_in_float32(monkeypatch):
    # 与 fit 一样：报告的 test_acc 与之后用 float32 重新评估的一致（autocast 在 CPU 上强制打开来检查）
    from dlbook import fast as fast_path

    monkeypatch.setattr(fast_path, "plan", lambda fast, device: fast_path.FastPlan("cpu", amp=True))
    seen: dict[bool, set[torch.dtype]] = {True: set(), False: set()}

    def hook(module, args, out):
        if isinstance(module, SpeedNet):
            seen[module.training].add(out.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        speedrun.run(SpeedrunConfig(mode="fast", **TINY))
    finally:
        handle.remove()
    assert seen == {True: {torch.bfloat16}, False: {torch.float32}}


def test_compiled_run_compiles_before_the_clock_starts():
    # CPU 上也能编译（要几十秒）：编译在预热里做完，计时的两次训练里不再编译任何图。
    config = SpeedrunConfig(mode="compile", **TINY)
    compiled = speedrun.run(config, runs=2)
    plain = speedrun.run(SpeedrunConfig(mode="plain", **TINY), runs=1)
    assert compiled[0]["compile_seconds"] > 0 and compiled[1]["compile_seconds"] == 0
    assert [r["graphs_compiled_while_timed"] for r in compiled] == [0, 0]
    assert abs(compiled[0]["train_acc"] - plain[0]["train_acc"]) <= 0.05


def test_run_standardises_both_sets_with_the_training_statistics(monkeypatch):
    from dlbook.data import fashion_mnist_tensors

    seen = {}
    train_once = speedrun._train_once

    def spy_train(model, X, y, *args, **kwargs):
        seen["train"] = X
        return train_once(model, X, y, *args, **kwargs)

    def spy_accuracy(model, X, y, *, flip):
        seen["test"] = X
        return 0.5

    monkeypatch.setattr(speedrun, "_train_once", spy_train)
    monkeypatch.setattr(speedrun, "tta_accuracy", spy_accuracy)
    speedrun.run(SpeedrunConfig(mode="plain", **TINY))
    raw_train, _ = fashion_mnist_tensors("train", subset=TINY["subset"], seed=0)
    raw_test, _ = fashion_mnist_tensors("test", subset=TINY["test_subset"], seed=0)
    assert seen["train"].mean().abs() < 1e-5 and (seen["train"].std() - 1).abs() < 1e-5
    torch.testing.assert_close(seen["test"], (raw_test - raw_train.mean()) / raw_train.std())  # 测试集用训练集的数


def test_the_training_follows_the_configs_recipe(monkeypatch):
    seen = {}
    fit = speedrun.fit

    def spy_fit(model, loader, test_iter, **kwargs):
        seen.update(kwargs, loader=loader)
        return fit(model, loader, test_iter, **kwargs)

    monkeypatch.setattr(speedrun, "fit", spy_fit)
    config = SpeedrunConfig(mode="plain", **{**TINY, "subset": 250})
    speedrun.run(config)
    group = seen["optimizer"].param_groups[0]
    assert (group["momentum"], group["nesterov"], group["weight_decay"]) == (0.9, True, 5e-4)
    assert seen["loss_fn"].label_smoothing == 0.1
    # 丢掉不满的最后一批（250 张、批量 32：7 批）：编译后的模型按批量大小特化，不满的一批会让它重新编译
    assert len(seen["loader"]) == 7 and all(len(yb) == 32 for _, yb in seen["loader"])
    assert seen["loader"].shuffle and seen["loader"].transform is not None  # 每轮打乱，每批做数据增强
    assert seen["scheduler"].get_last_lr()[0] == pytest.approx(0.0, abs=1e-12)  # 练完时学习率降到 0


def test_the_record_reports_plain_accuracy_and_flip_tta_apart(monkeypatch):
    flips = []

    def fake_accuracy(model, X, y, *, flip):
        flips.append(flip)
        return 0.75 if flip else 0.25

    monkeypatch.setattr(speedrun, "tta_accuracy", fake_accuracy)
    [record] = speedrun.run(SpeedrunConfig(mode="plain", **TINY))
    assert flips == [False, True] and (record["test_acc"], record["test_acc_tta"]) == (0.25, 0.75)


def test_run_refuses_zero_runs():
    with pytest.raises(ValueError, match="runs 至少为 1，而不是 0"):
        speedrun.run(SpeedrunConfig(mode="plain", **TINY), runs=0)


def test_too_few_images_for_two_batches_is_explained():
    with pytest.raises(ValueError, match="凑不出两个"):
        speedrun.run(SpeedrunConfig(mode="plain", **{**TINY, "subset": 40}))


def test_summarize():
    records = [
        {"test_acc": 0.90, "test_acc_tta": 0.925, "train_seconds": 3.0},
        {"test_acc": 0.91, "test_acc_tta": 0.935, "train_seconds": 4.0},
    ]
    summary = summarize(records)
    assert summary["acc_mean"] == pytest.approx(0.93) and summary["acc_min"] == 0.925
    assert summary["runs_at_target"] == 1 and summary["train_seconds_max"] == 4.0
    assert summarize(records[:1])["acc_sd"] == 0.0
    assert summarize([{"test_acc": 0.93, "train_seconds": 1.0}])["runs_at_target"] == 1  # 恰好 93% 也算达标
    with pytest.raises(ValueError, match="没有可以汇总的记录"):  # 不是 statistics 的 StatisticsError（也是 ValueError）
        summarize([])


def test_command_line_prints_json_and_a_summary(capsys):
    # --threads 改了进程的线程数；one_thread 在测试之后把它恢复
    code = speedrun.main(
        ["--device", "cpu", "--epochs", "1", "--subset", "512", "--test-subset", "100", "--runs", "2",
         "--batch-size", "128", "--lr", "0.05", "--threads", "1"]
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(lines) == 3
    assert [line["seed"] for line in lines[:2]] == [0, 1]
    assert lines[0]["mode"] == "plain"  # CPU 上默认不编译
    assert (lines[0]["batch_size"], lines[0]["lr"]) == (128, 0.05)
    assert lines[2]["summary"]["runs"] == 2
    assert lines[0]["hardware"].endswith("（PyTorch 用 1 个线程）")


def test_one_run_prints_no_summary(capsys):
    assert speedrun.main(["--device", "cpu", "--epochs", "1", "--subset", "256", "--test-subset", "100",
                          "--batch-size", "64", "--mode", "plain"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["seed"] == 0


def test_command_line_errors(capsys):
    with pytest.raises(SystemExit) as exit_info:
        speedrun.main(["--device", "tpu"])
    assert exit_info.value.code == 2 and "未知的设备" in capsys.readouterr().err
    assert speedrun.main(["--device", "cpu", "--subset", "100"]) == 1  # 100 张凑不出两个 512 的批量
    err = capsys.readouterr().err
    assert "凑不出两个" in err and "Traceback" not in err  # dlbook 自己检查出的错误：一行就够


def test_a_failure_inside_torch_keeps_its_traceback(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(speedrun, "run", broken)
    assert speedrun.main(["--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().endswith("an illegal memory access was encountered")
