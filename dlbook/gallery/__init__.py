"""把 ``gallery/`` 里的示例脚本变成执行过的笔记本，再放进 MkDocs 页面。

数据流::

    gallery/<章>/plot_*.py ──(sphinx-gallery 的解析器)──> 笔记本
        ──(nbclient + ipykernel 执行，按内容哈希缓存)──> 执行过的 .ipynb
        ──> 章节页面里的嵌入（代码、文本输出、图片文件）
        ──> 单独的示例页面（mkdocs-jupyter 渲染）与图库索引

模块：``notebook``（脚本→笔记本）、``execute``（执行）、``cache``（缓存）、
``render``（笔记本→Markdown）、``build``（整个图库）、``plugin``（MkDocs 插件）、
``styles``（示例页面共用的样式表）、``offline``（可以从文件系统打开的离线副本）。
"""

from dlbook.gallery.build import Example, GalleryBuild, build_gallery, find_scripts
from dlbook.gallery.execute import ExampleError

__all__ = ["Example", "ExampleError", "GalleryBuild", "build_gallery", "find_scripts"]
