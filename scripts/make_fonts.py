"""生成站点自带的等宽字体 docs/assets/fonts/DejaVuSansMono{,-Bold}.woff2。

只在更新字体时运行（需要 Debian 的 fonts-dejavu-core，以及 ``pip install fonttools brotli``）；
生成的文件提交进仓库，构建网站时不需要它们。

字体只保留页面上等宽文字会用到的字符（拉丁字母与符号、希腊字母、数学符号、箭头、制表符与方块），
汉字不在其中：输出里的汉字由 dlbook.css 里的 ``dlbook-cjk-mono`` 用读者本机的中文字体放大到两格宽。
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

SOURCE = Path("/usr/share/fonts/truetype/dejavu")
TARGET = Path(__file__).resolve().parents[1] / "docs" / "assets" / "fonts"
UNICODES = (
    "U+0020-007E,U+00A0-024F,U+0370-03FF,U+2000-206F,U+2070-209F,U+20AC,U+2100-214F,"
    "U+2190-21FF,U+2200-22FF,U+2300-23FF,U+2500-259F,U+25A0-25FF,U+FFFD"
)


def main() -> int:
    for style in ("", "-Bold"):
        source = SOURCE / f"DejaVuSansMono{style}.ttf"
        if not source.is_file():
            print(f"找不到 {source}：先安装 Debian 的 fonts-dejavu-core", file=sys.stderr)
            return 1
        options = subset.Options()
        options.flavor = "woff2"
        options.layout_features = ["*"]
        options.notdef_outline = True
        font = TTFont(source)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=subset.parse_unicodes(UNICODES))
        subsetter.subset(font)
        target = TARGET / f"DejaVuSansMono{style}.woff2"
        target.parent.mkdir(parents=True, exist_ok=True)
        subset.save_font(font, str(target), options)
        print(f"{target}：{target.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
