// MathJax 3 由本站自己提供（assets/mathjax/），不走 CDN。
// 处理两类页面：Markdown 页面里 arithmatex 输出的 \( \) / \[ \]，
// 以及示例页面（mkdocs-jupyter 渲染的笔记本）Markdown 单元格里原样保留的 $ / $$。
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex|jp-RenderedMarkdown",
  },
};
