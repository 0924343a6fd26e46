"""去掉中文之间由换行变成的空格。

源文件里一段中文常常折成几行（图库脚本的注释每行不超过 100 个字符）。HTML 把正文里的换行当作空白，
Chromium 把它显示成一个空格，于是“数据\\n集”显示成“数据 集”。CSS Text 3（§4.1.3）规定两边都是
东亚宽字符时这种换行应当删掉，Firefox 这样做，Chromium 不做。:func:`join_cjk_lines` 在构建时替浏览器做：
换行（连同它两边的空格和制表符）两边都是宽字符（``unicodedata.east_asian_width`` 为 W、F 或 H，
谚文除外）时删掉它；一边是全角标点（“。”“：”“（”……，字形里已经带着空白）时，另一边是什么都删；
一边是宽字符、另一边是中文里常用的引号、破折号或省略号（宽度为 A）时也删掉。
其余的换行原样保留，中文与英文、数字之间的空格不受影响。

:func:`join_cjk_markdown` 对 Markdown 源文本做同样的事，用于图库生成的笔记本（下载后在 Jupyter 里打开时也不多空格）。

只改正文：``<pre>``、``<code>``、``<script>``、``<style>``、``<textarea>`` 和 arithmatex 的公式里的
内容一概不动；跨过行内标签（``<strong>``、``<a>`` ……）的换行也处理，行内的代码和公式当作一个拉丁字母，
遇到其他标签就不再相连。
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["FENCE", "closes_fence", "join_cjk_lines", "join_cjk_markdown"]

_MARKUP = re.compile(
    r"<(?P<raw>script|style|pre|code|textarea)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>.*?</(?P=raw)\s*>"
    r"|<(?P<math>span|div)\b[^>]*\bclass=\"arithmatex\"[^>]*>.*?</(?P=math)>"
    r"|<!--.*?-->"
    r"|<(?P<end>/?)(?P<tag>[A-Za-z][A-Za-z0-9-]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"
    r"|<![^>]*>",
    re.DOTALL | re.IGNORECASE,
)
# 这些标签两边的文字在浏览器里是连着排的
_INLINE = frozenset(
    "a abbr b bdi bdo cite data del dfn em i ins kbd mark q s samp small span strong sub sup time u wbr".split()
)
_BREAK = re.compile(r"[ \t\r]*\n[ \t\r\n]*")
_AMBIGUOUS_PUNCTUATION = frozenset("“”‘’—…")


def _wide(ch: str) -> bool:
    if "\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f":
        return False  # 谚文词之间本来就用空格
    return unicodedata.east_asian_width(ch) in ("W", "F", "H")


def _wide_punctuation(ch: str) -> bool:
    return _wide(ch) and unicodedata.category(ch).startswith("P")


def _joins(before: str, after: str) -> bool:
    if _wide(before) and _wide(after):
        return True
    if _wide_punctuation(before) or _wide_punctuation(after):
        return True  # 全角标点自带空白：“10 轮。quick”“训练它：Xavier”，后面不再加空格
    return (_wide(before) and after in _AMBIGUOUS_PUNCTUATION) or (
        before in _AMBIGUOUS_PUNCTUATION and _wide(after)
    )


def join_cjk_lines(html: str) -> str:
    """删去 ``html`` 正文里夹在两个中文字符之间的换行。

    >>> join_cjk_lines("<p>把数据\\n    集读进来，\\n再训练。</p>")
    '<p>把数据集读进来，再训练。</p>'
    >>> join_cjk_lines("<p>中文与\\nPyTorch 之间的空格保留</p>")
    '<p>中文与\\nPyTorch 之间的空格保留</p>'
    >>> join_cjk_lines("<p>跨过<strong>行内\\n</strong>标签</p><pre>代码\\n不动</pre>")
    '<p>跨过<strong>行内</strong>标签</p><pre>代码\\n不动</pre>'
    >>> join_cjk_lines("<p>段落</p>\\n<p>之间不相连</p>")
    '<p>段落</p>\\n<p>之间不相连</p>'
    >>> join_cjk_lines("<p>响应，\\n<code>x</code> 与\\n<code>y</code></p>")  # 全角逗号之后不留空格
    '<p>响应，<code>x</code> 与\\n<code>y</code></p>'
    """
    # 先把正文切成“连着排的”几组。组里的每一项是一段文字在 html 里的 (起点, 终点)，或者 None：
    # 行内的代码或公式，它排在文字中间，但里面的字不改，看上去相当于一个拉丁字母
    groups: list[list[tuple[int, int] | None]] = [[]]
    pos = 0
    for m in _MARKUP.finditer(html):
        if m.start() > pos:
            groups[-1].append((pos, m.start()))
        tag = (m["tag"] or "").lower()
        if (m["raw"] or "").lower() == "code" or (m["math"] or "").lower() == "span":
            groups[-1].append(None)
        elif tag not in _INLINE or m["raw"] or m["math"]:
            groups.append([])
        pos = m.end()
    if pos < len(html):
        groups[-1].append((pos, len(html)))

    cuts: list[tuple[int, int]] = []  # 要删掉的 html 区间
    for items in groups:
        text = "".join("x" if item is None else html[item[0] : item[1]] for item in items)
        if "\n" not in text:
            continue
        where: list[int] = []  # text 的第 k 个字符在 html 里的位置（行内代码、公式为 -1）
        for item in items:
            where += [-1] if item is None else list(range(item[0], item[1]))
        for m in _BREAK.finditer(text):
            if m.start() == 0 or m.end() == len(text):
                continue
            if _joins(text[m.start() - 1], text[m.end()]):
                cuts += [(where[k], where[k] + 1) for k in range(m.start(), m.end())]
    if not cuts:
        return html
    out, pos = [], 0
    for a, b in cuts:  # cuts 已按位置排好
        out.append(html[pos:a])
        pos = b
    out.append(html[pos:])
    return "".join(out)


FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
"""围栏代码块的开头：第 1 组是开头标记（三个以上的 ` 或 ~）。"""


def closes_fence(line: str, fence: str) -> bool:
    """``line`` 是否结束以 ``fence`` 开头的围栏代码块：整行只有同一种标记字符，而且不比开头的短。

    >>> closes_fence("````", "```"), closes_fence("``` python", "```"), closes_fence("~~~", "```")
    (True, False, False)
    """
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)


_NOT_PROSE = ("#", "|", "<", "$$")  # 标题、表格行、HTML 块、独立公式的开头
_BLOCK_START = re.compile(r"^(?:[-+*]|\d+[.)])(?:\s|$)|^>")  # 列表项、引用：另起一块，不接到上一行


def join_cjk_markdown(text: str) -> str:
    r"""把 Markdown 段落里夹在两个中文字符之间的换行删掉（规则同 :func:`join_cjk_lines`）。

    代码块（``` 或 ~~~）、``$$`` 独立公式、标题、表格行、HTML 块和以两个空格或反斜杠结尾的硬换行都不动；
    不接在正文段落后面（开头、空行、标题或缩进代码之后）、缩进四格以上的行是缩进代码块，也不动。

    >>> join_cjk_markdown("第一行，\n第二行与\nPyTorch。\n\n```python\n# 中文\n# 注释\n```\n## 标题\n正文")
    '第一行，第二行与\nPyTorch。\n\n```python\n# 中文\n# 注释\n```\n## 标题\n正文'
    """
    out: list[str] = []
    fence: str | None = None  # 在代码块里时是它的开头标记
    in_math = False
    prose = False  # out[-1] 是不是可以接着写的正文行
    for line in text.split("\n"):
        stripped = line.strip()
        marker = FENCE.match(line)
        if fence is not None:
            if closes_fence(line, fence):
                fence = None
            out.append(line)
            prose = False
            continue
        if marker:
            fence = marker[1]
            out.append(line)
            prose = False
            continue
        if in_math:  # 独立公式到以 $$ 结尾的那一行为止
            in_math = not stripped.endswith("$$")
            out.append(line)
            prose = False
            continue
        if stripped.startswith("$$"):
            in_math = not (len(stripped) >= 4 and stripped.endswith("$$"))
            out.append(line)
            prose = False
            continue
        if not stripped:
            out.append(line)
            prose = False
            continue
        # 缩进四格以上、又不能接在正文段落后面（开头、空行、标题、缩进代码之后……）的行是缩进代码块
        indented = len(line) - len(line.lstrip(" ")) >= 4 and not prose
        previous = out[-1] if out else ""
        # 强调的标记（**粗体**、*斜体*）不占位置：看它们里面的字
        before, after = previous.rstrip().rstrip("*_")[-1:], stripped.lstrip("*_")[:1]
        if (
            prose
            and not stripped.startswith(_NOT_PROSE)
            and not _BLOCK_START.match(stripped)
            and not previous.endswith(("  ", "\\"))
            and before
            and after
            and _joins(before, after)
        ):
            out[-1] = previous.rstrip() + line.lstrip()
            continue
        out.append(line)
        prose = not indented and not stripped.startswith(_NOT_PROSE)
    return "\n".join(out)
