"""
经典卷积核的效果
================

模糊、锐化、浮雕、边缘检测，这些图像处理里的经典操作都只是用不同的卷积核做一次卷积。
这个示例用 `F.conv2d` 把它们作用在 scikit-image 自带的摄影师照片和一张 Fashion-MNIST 图像上，
并用卷积核的元素之和解释它们为什么会有这样的效果。
"""

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

try:  # 示例图片来自 scikit-image（dlbook 的 docs 依赖里有它）
    from skimage import data
except ImportError as exc:
    raise ImportError(
        "这个示例要用 scikit-image 自带的照片：pip install scikit-image"
    ) from exc

import dlbook
from dlbook.plot import show
from dlbook.text import pad

# 摄影师照片，形状 (1, 1, 512, 512)
photo = torch.from_numpy(data.camera()).float().div(255)[None, None]
# 缩小一半，计算更快
photo = F.interpolate(photo, size=(256, 256), mode="bilinear", antialias=True)
print("照片：", tuple(photo.shape))

# %% [markdown]
# ## 一组卷积核
#
# 高斯核按公式 $\exp(-(a^2+b^2)/2\sigma^2)$ 生成，再除以总和使元素和为 1。
# 其余的都是直接写出来的小矩阵。

# %%
def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    a = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(a**2) / (2 * sigma**2))
    k = torch.outer(g, g)
    return k / k.sum()


sharpen = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])
emboss = torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])
sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
laplacian = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
kernels = {
    "方框模糊 5×5": torch.full((5, 5), 1 / 25),
    "高斯模糊 σ=1.5": gaussian_kernel(7, 1.5),
    "锐化": sharpen,
    "浮雕": emboss,
    "Sobel 水平梯度": sobel_x,
    "Sobel 竖直梯度": sobel_x.T.clone(),
    "拉普拉斯": laplacian,
}
# pad 按终端里的宽度补空格（汉字占两列）
for name, k in kernels.items():
    print(f"{pad(name, 14)} 形状 {tuple(k.shape)}  "
          f"元素和 {k.sum().item():+.2f}")

# %% [markdown]
# 元素和为 1 的卷积核（模糊、锐化、浮雕）保持平坦区域的亮度不变；
# 元素和为 0 的卷积核（Sobel、拉普拉斯）把平坦区域变成 0，只对亮度变化的地方有响应。
#
# ## 作用在照片上
#
# `F.conv2d` 默认不填充，输出会变小；用它的 `padding` 参数保持尺寸时补的是 0，会让模糊后的图像出现一圈暗边。
# 这里先用 `F.pad` 做镜像填充，再做不填充的卷积，输出仍与输入同样大小。有正有负的输出（Sobel、拉普拉斯）映射到灰度时，
# 0 对应中灰，正值偏白，负值偏黑；梯度幅值 $\sqrt{g_x^2+g_y^2}$ 则越亮表示边缘越强。

# %%
def filter2d(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """镜像填充后做互相关，输出与输入同样大小（卷积核边长须为奇数）。"""
    kh, kw = kernel.shape
    padded = F.pad(image, (kw // 2, kw // 2, kh // 2, kh // 2), mode="reflect")
    return F.conv2d(padded, kernel[None, None])


def signed_to_gray(t: torch.Tensor) -> torch.Tensor:
    return 0.5 + 0.5 * t / t.abs().max()


def apply_all(image: torch.Tensor) -> dict[str, torch.Tensor]:
    out = {"原图": image}
    for name, k in kernels.items():
        y = filter2d(image, k)
        out[name] = signed_to_gray(y) if k.sum().abs() < 1e-6 else y.clamp(0, 1)
    gx = filter2d(image, kernels["Sobel 水平梯度"])
    gy = filter2d(image, kernels["Sobel 竖直梯度"])
    magnitude = torch.sqrt(gx**2 + gy**2)
    out["Sobel 梯度幅值"] = magnitude / magnitude.max()
    return out


def grid(results: dict[str, torch.Tensor], *, size: float):
    fig, axes = plt.subplots(3, 3, figsize=(3 * size, 3 * size + 0.6),
                             layout="constrained")
    for ax, (name, img) in zip(axes.flat, results.items()):
        ax.imshow(img[0, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(name, fontsize=10)
        ax.set_axis_off()
    return fig


show(grid(apply_all(photo), size=2.8))

# %% [markdown]
# 模糊抹去了细节（方框模糊在强边缘旁留下方块状的痕迹，高斯模糊更柔和）；锐化让三脚架和衣服的轮廓更加突出；
# 浮雕像是光从左上方斜照过来：亮的物体左上边缘被照亮，右下边缘落在阴影里。
# 水平梯度只对竖直的边缘（三脚架的腿、人的身体轮廓）有强响应，竖直梯度只对水平的边缘（地平线）有强响应，
# 二者合成的梯度幅值勾出了所有的轮廓。
# 拉普拉斯在边缘两侧给出一正一负两条细线。
#
# ## 作用在 Fashion-MNIST 图像上
#
# 同样的卷积核用在 $28\times 28$ 的小图上。小图的一个像素相当于照片里的一大块，
# 所以同样大小的模糊核显得强烈得多；边缘检测核则清楚地勾出了衣服的轮廓。

# %%
from dlbook.data import FASHION_MNIST_CLASSES_ZH, load_fashion_mnist

images, labels = load_fashion_mnist("test")
item = images[1].float().div(255)[None, None]  # (1, 1, 28, 28)
print("Fashion-MNIST 图像：", FASHION_MNIST_CLASSES_ZH[labels[1]])
show(grid(apply_all(item), size=1.9))

# %% [markdown]
# ## 互相关与翻转
#
# `F.conv2d` 计算的是互相关，不翻转卷积核。对对称的卷积核，翻转不改变任何东西；
# 对 Sobel 核，翻转（上下、左右各一次）后恰好变成它的相反数，所以严格意义上的卷积只会让输出整体变号。

# %%
for name in ["高斯模糊 σ=1.5", "拉普拉斯", "Sobel 水平梯度"]:
    k = kernels[name]
    flipped = k.flip(-2, -1)
    same = torch.allclose(filter2d(photo, flipped), filter2d(photo, k))
    negated = torch.allclose(filter2d(photo, flipped), -filter2d(photo, k))
    print(f"{pad(name, 14)} 翻转后输出不变：{same}，翻转后输出变号：{negated}")
