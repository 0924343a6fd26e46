// MathJax 3 由本站自己提供（assets/mathjax/），不走 CDN。
// 只排版两类元素：Markdown 页面里 arithmatex 输出的 \( \) / \[ \]，
// 以及示例页面（mkdocs-jupyter 渲染的笔记本）Markdown 单元格里原样保留的 $ / $$。
// 用 startup.elements 限定范围，而不是 ignoreHtmlClass: ".*|"：后者会跳过
// 笔记本单元格里没有 class 的 <p>，公式就原样留在页面上。
// 两类元素不能互相嵌套：mkdocs-jupyter 0.27 起把 Markdown 单元格里的 $...$ 也转换成 arithmatex 的
// <span>，同一个公式若被两个元素各找到一次，MathJax 第二次替换时就会出错，整页公式都不显示。
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  startup: {
    // 第三类：页面目录（.md-nav--secondary）。标题里的公式在目录项里是纯文本的 \( \) 或 $，不排版就原样显示。
    elements: [".arithmatex:not(.jp-RenderedMarkdown .arithmatex)", ".jp-RenderedMarkdown", ".md-nav--secondary"],
  },
};
