"""Links for the papers and books the claims cite: a source string that names one gets its arXiv
or DOI link in the report. Each row: a pattern that only that work's citations match, a short
label, the address."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

PAPERS = [
    (r"Reddi, Kale", "arXiv:1904.09237", "https://arxiv.org/abs/1904.09237"),
    (r"Wilson(, Roelofs| et al)", "arXiv:1705.08292", "https://arxiv.org/abs/1705.08292"),
    (r"Arora, Cohen", "arXiv:1802.06509", "https://arxiv.org/abs/1802.06509"),
    (r"Santurkar", "arXiv:1805.11604", "https://arxiv.org/abs/1805.11604"),
    (r"Zeiler", "arXiv:1212.5701", "https://arxiv.org/abs/1212.5701"),
    (r"Kingma", "arXiv:1412.6980", "https://arxiv.org/abs/1412.6980"),
    (r"Duchi, Hazan, Singer", "JMLR 12", "https://jmlr.org/papers/v12/duchi11a.html"),
    (r"Srivastava et al", "JMLR 15", "https://jmlr.org/papers/v15/srivastava14a.html"),
    (r"Martens \(2020\)", "arXiv:1412.1193", "https://arxiv.org/abs/1412.1193"),
    (r"Sutskever et al", "PMLR 28", "https://proceedings.mlr.press/v28/sutskever13.html"),
    (r"Breiman \(1996\)", "doi:10.1007/BF00058655", "https://doi.org/10.1007/BF00058655"),
    (r"Bishop \(1995\)", "doi:10.1162/neco.1995.7.1.108",
     "https://doi.org/10.1162/neco.1995.7.1.108"),
    (r"Geman, Bienenstock", "doi:10.1162/neco.1992.4.1.1",
     "https://doi.org/10.1162/neco.1992.4.1.1"),
    (r"Polyak \(1964\)", "doi:10.1016/0041-5553(64)90137-5",
     "https://doi.org/10.1016/0041-5553(64)90137-5"),
    (r"Nesterov(, Introductory Lectures| \(2004\))", "doi:10.1007/978-1-4419-8853-9",
     "https://doi.org/10.1007/978-1-4419-8853-9"),
    (r"Goodfellow, Bengio, Courville", "deeplearningbook.org", "https://www.deeplearningbook.org"),
    (r"Prechelt \(1998\)", "doi:10.1007/3-540-49430-8_3",
     "https://doi.org/10.1007/3-540-49430-8_3"),
    (r"Mixup, Zhang et al|Zhang et al\.? \(?2018", "arXiv:1710.09412",
     "https://arxiv.org/abs/1710.09412"),
    (r"Huang et al\.? \(?2017", "arXiv:1704.00109", "https://arxiv.org/abs/1704.00109"),
    (r"Loshchilov", "arXiv:1608.03983", "https://arxiv.org/abs/1608.03983"),
    (r"Saxe, McClelland|Saxe et al", "arXiv:1312.6120", "https://arxiv.org/abs/1312.6120"),
    (r"Goodfellow, Vinyals", "arXiv:1412.6544", "https://arxiv.org/abs/1412.6544"),
    (r"He, Zhang, Ren, Sun.{0,12}(ICCV|2015)|He et al\.? \(?2015", "arXiv:1502.01852",
     "https://arxiv.org/abs/1502.01852"),
    (r"He, Zhang, Ren, Sun.{0,12}(CVPR|2016)|He et al\.? \(?2016", "arXiv:1512.03385",
     "https://arxiv.org/abs/1512.03385"),
    (r"Glorot", "PMLR 9", "https://proceedings.mlr.press/v9/glorot10a.html"),
    (r"Li, Xu, Taylor|Li et al\.? \(?2018", "arXiv:1712.09913", "https://arxiv.org/abs/1712.09913"),
    (r"Ioffe", "arXiv:1502.03167", "https://arxiv.org/abs/1502.03167"),
    (r"Ba, Kiros", "arXiv:1607.06450", "https://arxiv.org/abs/1607.06450"),
    (r"Wu (&|and) He", "arXiv:1803.08494", "https://arxiv.org/abs/1803.08494"),
    (r"Ulyanov", "arXiv:1607.08022", "https://arxiv.org/abs/1607.08022"),
    (r"Yang, Pennington|Yang et al\.?,? \(?(ICLR )?2019|mean field theory of batch",
     "arXiv:1902.08129", "https://arxiv.org/abs/1902.08129"),
    (r"^Pennington|[^,] Pennington|Pennington et al", "arXiv:1711.04735",
     "https://arxiv.org/abs/1711.04735"),
    (r"Du, Hu (&|and) Lee", "arXiv:1806.00900", "https://arxiv.org/abs/1806.00900"),
]
_COMPILED = [(re.compile(pattern), label, url) for pattern, label, url in PAPERS]


def links(source: str) -> list[tuple[str, str]]:
    """(label, address) of every listed work ``source`` cites, in table order."""
    return [(label, url) for pattern, label, url in _COMPILED if pattern.search(source)]


def linked(source: str) -> Markup:
    """The source, escaped, followed by a link per work it cites."""
    anchors = [Markup('<a class="paper" href="{}">{}</a>').format(url, label)
               for label, url in links(source)]
    return escape(source) + (Markup(" ") + Markup(" ").join(anchors) if anchors else "")
