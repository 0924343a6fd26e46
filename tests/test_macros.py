"""章节页面里的宏：认得出的展开，写错的报错，代码块里的原样保留。不执行示例（用一个空的构建）。"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError

from dlbook.gallery.plugin import GalleryPlugin


def _plugin(tmp_path) -> GalleryPlugin:
    (tmp_path / "gallery" / "ch").mkdir(parents=True)
    plugin = GalleryPlugin()
    plugin.build = SimpleNamespace(examples={}, skipped=[])
    plugin._gallery = tmp_path / "gallery"
    plugin._offline_zip = None
    plugin._offline = False
    return plugin


def _render(plugin: GalleryPlugin, markdown: str) -> str:
    page = SimpleNamespace(file=SimpleNamespace(src_uri="ch/page.md"))
    return plugin.on_page_markdown(markdown, page=page, config=None, files=None)


@pytest.mark.parametrize(
    "line",
    [
        "{{ example('ch/plot_a.py') }}",  # 单引号
        '{{ examples("ch/plot_a.py") }}',  # 名字写错
        '{{ result_table("ch") }}',
        '见 {{ example("ch/plot_a.py") }} 的输出',  # 没有单独占一行
        '!!! note\n\n    {{ example(ch/plot_a.py) }}',  # 没有引号，在提示框里
    ],
)
def test_a_misspelled_macro_is_an_error_naming_the_page_and_the_right_forms(tmp_path, line):
    with pytest.raises(PluginError) as info:
        _render(_plugin(tmp_path), f"# 标题\n\n{line}\n\n正文\n")
    message = str(info.value)
    assert "ch/page.md" in message and "认不出这个宏" in message
    assert line.splitlines()[-1].strip() in message
    assert 'example("<章>/plot_<名>.py")' in message and "results_table" in message


def test_macros_in_code_are_shown_not_expanded(tmp_path):
    plugin = _plugin(tmp_path)
    markdown = (
        "示例这样嵌进页面：\n\n"
        '```markdown\n{{ example("ch/plot_missing.py") }}\n```\n\n'
        "~~~~\n{{ anything('goes') }}\n```\n还在代码块里\n~~~~\n\n"
        '行内代码 `{{ example("ch/plot_a.py") }}` 也一样。\n'
    )
    assert _render(plugin, markdown) == markdown
    # 同一个宏在代码块外面就要展开：这个示例不存在，所以报错
    with pytest.raises(PluginError, match="找不到示例 'ch/plot_missing.py'"):
        _render(plugin, '{{ example("ch/plot_missing.py") }}\n')


def test_an_unclosed_fence_keeps_the_rest_of_the_page_as_code(tmp_path):
    markdown = '```\n{{ example("ch/plot_missing.py") }}\n'
    assert _render(_plugin(tmp_path), markdown) == markdown


@pytest.mark.parametrize("chapter", ["../docs", "ch/sub", ".", ""])
def test_results_table_takes_a_chapter_name_not_a_path(tmp_path, chapter):
    with pytest.raises(PluginError, match="results_table"):
        _render(_plugin(tmp_path), f'{{{{ results_table("{chapter}") }}}}\n')
