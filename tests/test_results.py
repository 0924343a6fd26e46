"""训练结果的报告与汇总：从示例脚本的一次 ``report`` 到章节页面上的表格。"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError
from torch import nn

from dlbook.gallery.build import build_gallery
from dlbook.gallery.plugin import GalleryPlugin
from dlbook.gallery.render import notebook_to_markdown
from dlbook.results import RESULT_MIME, Result, report, results_in, results_table
from dlbook.text import text_width
from dlbook.train import History

TRAIN_SCRIPT = '''"""
训练两个小模型
==============

各报告一次结果。
"""

# %%
import torch
from torch import nn

from dlbook.results import report
from dlbook.train import fit

torch.manual_seed(0)
X = torch.randn(64, 2)
y = (X[:, 0] > 0).long()
for name, hidden in [("小网络", 4), ("大网络", 16)]:
    model = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 2))
    history = fit(model, [(X, y)], [(X, y)], epochs=3, optimizer=torch.optim.SGD(model.parameters(), lr=0.5))
    report(name, model=model, history=history, note=f"隐藏层 {hidden}")
'''


def _history(**kw) -> History:
    h = History(device="cpu")
    h.epoch = [1, 2, 3]
    h.train_loss = [0.9, 0.6, 0.5]
    h.train_acc = [0.6, 0.7, 0.8]
    h.test_acc = [0.55, 0.65, 0.75]
    h.examples_per_sec = [100.0, 300.0, 200.0]
    h.seconds = [1.0, 2.0, 3.0]
    for key, value in kw.items():
        setattr(h, key, value)
    return h


def test_report_prints_and_returns(capsys, monkeypatch):
    monkeypatch.setenv("DLBOOK_MODE", "quick")
    model = nn.Linear(3, 2)
    tied = nn.Sequential(model, nn.ReLU(), model)  # 共享的参数只算一次
    r = report("线性", model=tied, history=_history())
    assert r == Result("线性", 8, 0.75, 0.8, 0.5, 250.0, 3, 6.0, "cpu", "quick")
    assert capsys.readouterr().out == r.summary() + "\n"


def test_report_counts_frozen_parameters_and_shows_the_note(monkeypatch, capsys):
    monkeypatch.setenv("DLBOOK_MODE", "quick")
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2))
    model[0].requires_grad_(False)  # 冻结的参数也是模型的一部分
    r = report("冻结", model=model, history=_history(), note="只训练最后一层")
    assert r.params == 8 + 6
    first, second = r.summary().splitlines()
    assert first.startswith("结果：冻结（只训练最后一层） · ")  # 与结果表里的写法相同
    assert second.endswith("（含评估） · cpu · quick 模式")
    assert "只训练最后一层" in capsys.readouterr().out


def test_report_speed_skips_the_first_epoch_unless_alone(monkeypatch):
    monkeypatch.setenv("DLBOOK_MODE", "quick")
    # 不是有限数的吞吐量（一轮用时为 0）不进中位数
    odd = _history(examples_per_sec=[100.0, float("inf"), 300.0, 500.0], epoch=[1, 2, 3, 4])
    assert report("m", model=nn.Linear(1, 1), history=odd).examples_per_sec == 400.0
    none = _history(examples_per_sec=[100.0, float("inf"), float("nan")])
    assert report("m", model=nn.Linear(1, 1), history=none).examples_per_sec == float("inf")
    one = _history(epoch=[1], train_loss=[1.0], train_acc=[0.5], test_acc=[0.5], examples_per_sec=[7.0], seconds=[1.0])
    assert report("m", model=nn.Linear(1, 1), history=one).examples_per_sec == 7.0


def test_report_appends_to_dlbook_results_and_creates_its_folder(tmp_path, monkeypatch, capsys):
    import json

    path = tmp_path / "new" / "deeper" / "results.jsonl"
    monkeypatch.setenv("DLBOOK_MODE", "quick")
    monkeypatch.setenv("DLBOOK_RESULTS", str(path))
    report("a", model=nn.Linear(1, 1), history=_history())
    report("模型 b", model=nn.Linear(1, 1), history=_history())
    text = path.read_text(encoding="utf-8")
    assert [json.loads(line)["name"] for line in text.splitlines()] == ["a", "模型 b"]
    assert '"name": "模型 b"' in text  # 汉字原样写出，文件打开就能读


def test_an_unwritable_dlbook_results_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DLBOOK_MODE", "quick")
    monkeypatch.setenv("DLBOOK_RESULTS", str(tmp_path))  # 是目录，不是文件
    with pytest.raises(OSError, match="环境变量 DLBOOK_RESULTS 应当是一个可写的文件路径"):
        report("a", model=nn.Linear(1, 1), history=_history())
    assert "a" in capsys.readouterr().out, "写文件失败之前结果已经打印出来"


def test_report_needs_test_accuracy():
    with pytest.raises(ValueError, match="测试准确率"):
        report("m", model=nn.Linear(1, 1), history=_history(test_acc=[]))


def test_result_from_dict_rejects_bad_records():
    good = Result("m", 1, 0.5, 0.5, 1.0, 10.0, 1, 1.0, "cpu", "quick").to_dict()
    with pytest.raises(ValueError, match="test_acc"):
        Result.from_dict({k: v for k, v in good.items() if k != "test_acc"})
    with pytest.raises(ValueError, match="extra"):
        Result.from_dict({**good, "extra": 1})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("results")
    script = tmp / "gallery" / "ch" / "plot_train.py"
    script.parent.mkdir(parents=True)
    script.write_text(TRAIN_SCRIPT, encoding="utf-8")
    (tmp / "gallery" / "other").mkdir()
    build = build_gallery(tmp / "gallery", tmp / "out", tmp / "cache", mode="quick", device="cpu", log=lambda m: None)
    return tmp, build


def test_results_come_out_of_the_executed_notebook(trained):
    tmp, build = trained
    ex = build.examples["ch/plot_train.py"]
    results = results_in(ex.notebook)
    assert [r.name for r in results] == ["小网络", "大网络"]
    assert [r.params for r in results] == [(2 * 4 + 4) + (4 * 2 + 2), (2 * 16 + 16) + (16 * 2 + 2)]
    assert all(r.epochs == 3 and 0 <= r.test_acc <= 1 and r.mode == "quick" for r in results)
    assert results[1].note == "隐藏层 16"
    # 页面上看到的是那一行文字，而不是 JSON
    md = notebook_to_markdown(ex.notebook, images=ex.images, image_src=lambda im: im.name)
    assert md.count("结果：小网络") == 1 and RESULT_MIME not in md and '"test_acc"' not in md
    # 缓存命中时结果也还在
    again = build_gallery(tmp / "gallery", tmp / "out", tmp / "cache", mode="quick", device="cpu", log=lambda m: None)
    assert again.executed == 0
    assert results_in(again.examples["ch/plot_train.py"].notebook) == results


def _plugin(tmp, build) -> GalleryPlugin:
    plugin = GalleryPlugin()
    plugin.build = build
    plugin._gallery = tmp / "gallery"
    return plugin


def _page(src_uri: str):
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


def test_results_table_on_a_page(trained):
    tmp, build = trained
    plugin = _plugin(tmp, build)
    md = plugin.on_page_markdown('前文\n\n{{ results_table("ch") }}\n\n后文', page=_page("chapter/results.md"), config=None, files=None)
    results = results_in(build.examples["ch/plot_train.py"].notebook)
    table = results_table([(r, "../gallery/ch/plot_train.ipynb") for r in results])
    assert md == f'前文\n\n<div class="dlbook-results" markdown>\n\n{table}\n\n</div>\n\n后文'
    assert table.startswith("| 模型 |")
    assert "| 小网络（隐藏层 4） |" in md and "[plot_train](../gallery/ch/plot_train.ipynb)" in md


def test_results_table_errors_and_empty_chapters(trained):
    tmp, build = trained
    plugin = _plugin(tmp, build)
    with pytest.raises(PluginError, match="gallery/nope/"):
        plugin.on_page_markdown('{{ results_table("nope") }}', page=_page("a.md"), config=None, files=None)
    md = plugin.on_page_markdown('{{ results_table("other") }}', page=_page("a.md"), config=None, files=None)
    assert "还没有报告任何训练结果" in md


def test_results_table_format():
    r = Result("ResNet-18", 11_175_370, 0.9312, 0.95, 0.15, 8123.4, 20, 61.0, "cuda", "full")
    table = results_table([(r, "x/plot_resnet.ipynb")]).splitlines()
    assert len(table) == 3
    assert table[2] == "| ResNet-18 | 11.2 百万 | 0.931 | 0.950 | 8123 | 20 轮 61.0 秒 | cuda · full | [plot_resnet](x/plot_resnet.ipynb) |"


def test_summary_fits_the_output_box_even_for_large_numbers():
    r = Result("ResNet-18", 11_175_370, 0.93, 0.95, 0.1, 1_234_567.0, 30, 1234.5, "cuda:0", "full", "编译 + CUDA 图")
    assert [text_width(line) <= 80 for line in r.summary().splitlines()] == [True, True]
