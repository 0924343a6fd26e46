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
    pageReady() {
      return MathJax.startup.defaultPageReady().then(keepPunctuationWithMath);
    },
  },
};

// 排好的行内公式是一个整体的行内框，浏览器在它和后面的“，”“。”之间（或前面的“（”和它之间）照样会折行，
// 于是一行以逗号开头（窄屏上常见）。把公式连同紧挨着的标点包进一个不折行的 <span class="dlbook-nowrap">。
const CLOSING = /^[，。、；：！？）」』”’》〉】…]+/;
const OPENING = /[（「『“‘《〈【]+$/;

function keepPunctuationWithMath() {
  for (const math of document.querySelectorAll('mjx-container:not([display="true"])')) {
    let box = math; // arithmatex 的 <span> 里只有这个公式时，标点挨着的是外面那层 <span>
    while (box.parentElement && box.parentElement.classList.contains("arithmatex") &&
           box.parentElement.childNodes.length === 1) {
      box = box.parentElement;
    }
    const next = box.nextSibling, prev = box.previousSibling;
    const after = next && next.nodeType === Node.TEXT_NODE ? next.data.match(CLOSING) : null;
    const before = prev && prev.nodeType === Node.TEXT_NODE ? prev.data.match(OPENING) : null;
    if (!after && !before) continue;
    const wrap = document.createElement("span");
    wrap.className = "dlbook-nowrap";
    box.parentNode.insertBefore(wrap, box);
    if (before) wrap.appendChild(prev.splitText(prev.data.length - before[0].length));
    wrap.appendChild(box);
    if (after) {
      next.splitText(after[0].length);
      wrap.appendChild(next);
    }
  }
}
