"""The papers a data card cites: a short reference for the card's text and a BibTeX entry each.

Which of them a run followed is decided by the card from the stages that ran
(:func:`corpus_tools.datacard.provenance`); this module only holds what is cited.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Paper:
    key: str  # the BibTeX key
    reference: str  # "Authors, year, *Title*", as the card's Paper line gives it
    bibtex: str


RADFORD_2019 = Paper(
    key="radford2019language",
    reference="Radford et al., 2019, *Language Models are Unsupervised Multitask Learners*",
    bibtex="@article{radford2019language,\n  title={Language Models are Unsupervised Multitask Learners},\n"
           "  author={Radford, Alec and Wu, Jeffrey and Child, Rewon and Luan, David and Amodei, Dario and "
           "Sutskever, Ilya},\n  year={2019}\n}",
)
BROWN_2020 = Paper(
    key="brown2020language",
    reference="Brown et al., 2020, *Language Models are Few-Shot Learners*",
    bibtex="@inproceedings{brown2020language,\n  title={Language Models are Few-Shot Learners},\n"
           "  author={Brown, Tom B. and others},\n  booktitle={NeurIPS},\n  year={2020}\n}",
)
GEBRU_2021 = Paper(
    key="gebru2021datasheets",
    reference="Gebru et al., 2021, *Datasheets for Datasets*",
    bibtex="@article{gebru2021datasheets,\n  title={Datasheets for Datasets},\n  author={Gebru, Timnit and others},\n"
           "  journal={Communications of the ACM},\n  volume={64},\n  number={12},\n  year={2021}\n}",
)
