"""The agreement dashboard for moderators: reliability per question, judges, disagreements."""

from __future__ import annotations

import base64
import html
import io

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from workbench.agreement.panel import dashboard_data  # noqa: E402
from workbench.app import Alert, reports_errors  # noqa: E402
from workbench.panel import get_round  # noqa: E402
from workbench.store import session_scope  # noqa: E402


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None or value != value else f"{value:.{digits}f}"


def heatmap_figure(scores: pd.DataFrame, *, criterion: str, title: str, scale: tuple[int, int]) -> Figure:
    """Judges × nominations for one criterion; blank where a judge did not score."""
    part = scores[scores["criterion"] == criterion]
    table = part.pivot_table(index="judge_name", columns="reference", values="score", aggfunc="first")
    table = table.reindex(sorted(table.index), axis=0).reindex(sorted(table.columns), axis=1)
    fig = Figure(figsize=(max(6, 0.22 * table.shape[1] + 2), 0.45 * table.shape[0] + 1.6))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(table.to_numpy(dtype=float)), aspect="auto", cmap="viridis",
                      vmin=scale[0], vmax=scale[1], interpolation="nearest")
    ax.set_yticks(range(table.shape[0]), table.index, fontsize=8)
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=90, fontsize=6)
    ax.set_xlabel("Nomination")
    ax.set_ylabel("Judge")
    ax.set_title(f"{criterion}: {title} — scores by judge (blank = not assigned)", fontsize=10)
    fig.colorbar(image, ax=ax, label=f"Score ({scale[0]}–{scale[1]})")
    fig.tight_layout()
    return fig


def distribution_figure(scores: pd.DataFrame, *, criterion: str | None, title: str,
                        scale: tuple[int, int]) -> Figure:
    """Each judge's scores as a box plot, so harsh, lenient and central judges stand out."""
    part = scores if criterion is None else scores[scores["criterion"] == criterion]
    judges = sorted(part["judge_name"].dropna().unique())
    data = [part.loc[part["judge_name"] == j, "score"].dropna().to_numpy() for j in judges]
    fig = Figure(figsize=(8.5, 0.5 * len(judges) + 1.6))
    ax = fig.add_subplot()
    ax.boxplot(data, orientation="horizontal", tick_labels=judges, showmeans=True)
    ax.set_xlim(scale[0] - 0.3, scale[1] + 0.3)
    ax.set_xlabel(f"Score ({scale[0]}–{scale[1]}); the triangle marks the judge's mean")
    ax.set_ylabel("Judge")
    ax.set_title(f"{title}: score distribution per judge", fontsize=10)
    fig.tight_layout()
    return fig


def figure_html(fig: Figure, alt: str) -> str:
    """A figure as an <img> with alternative text (screen readers get the description)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close("all")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" style="max-width:100%">'


def reliability_html(result: dict) -> str:
    rows = []
    for key, summary in [*result["criteria"].items(), ("Overall", result["overall"])]:
        report = summary["report"]
        low, high = summary["alpha_ci"]
        ci = "—" if low is None else f"{low:.2f} to {high:.2f}"
        rows.append(
            f"<tr><th scope='row'>{html.escape(key)}: {html.escape(summary['title'])}</th>"
            f"<td>{_fmt(summary['alpha'])}</td><td>{ci}</td><td>{summary['alpha_band']}</td>"
            f"<td>{_fmt(summary['icc2'])}</td><td>{summary['icc_band']}</td>"
            f"<td>{_fmt(report['fleiss_kappa'])}</td><td>{_fmt(report['gwet_ac2']['quadratic'])}</td>"
            f"<td>{report['units']}</td></tr>")
    return ("<table><caption>Reliability per question (α: Krippendorff's alpha, ordinal for questions, interval for "
            "the total; 95% bootstrap interval over nominations; ICC(2,1) on all scores, missing ones included)"
            "</caption><thead><tr><th scope='col'>Question</th><th scope='col'>α</th><th scope='col'>95% CI</th>"
            "<th scope='col'>Reading of α</th><th scope='col'>ICC(2,1)</th><th scope='col'>Reading of ICC</th>"
            "<th scope='col'>Fleiss κ</th><th scope='col'>Gwet AC2 (quadratic)</th><th scope='col'>Nominations</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "<p>Bands: α ≥ 0.80 reliable, 0.667–0.80 tentative, below unreliable (Krippendorff 2004); ICC below 0.50 "
            "poor, 0.50–0.75 moderate, 0.75–0.90 good, above excellent (Koo &amp; Li 2016).</p>")


def judges_html(diagnostics: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(str(judge))}</th><td>{int(row['nominations'])}</td>"
        f"<td>{_fmt(row['mean_offset'])} ({_fmt(row['offset_low'])} to {_fmt(row['offset_high'])})</td>"
        f"<td>{_fmt(row['sd'])}</td><td>{_fmt(row['middle_share'])}</td><td>{_fmt(row['halo'])}</td>"
        f"<td>{_fmt(row['panel_r'])}</td></tr>" for judge, row in diagnostics.iterrows())
    flags = [f for fl in diagnostics["flags"] for f in fl]
    flag_html = "".join(f"<li>{html.escape(f)}</li>" for f in flags) or "<li>No judge stands out from the panel.</li>"
    return ("<table><caption>Judges: offset from the rest of the panel on the same nominations (negative = harsher), "
            "spread, share of middle scores, halo and agreement with the panel</caption><thead><tr>"
            "<th scope='col'>Judge</th><th scope='col'>Nominations</th><th scope='col'>Mean offset (95% CI)</th>"
            "<th scope='col'>SD</th><th scope='col'>Middle share</th><th scope='col'>Halo</th>"
            f"<th scope='col'>Correlation with panel</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<ul>{flag_html}</ul>")


def disagreements_html(table: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(r.reference)}</th><td>{html.escape(r.criterion)}</td>"
        f"<td>{r.range:g}</td><td>{r.sd:.2f}</td><td>{r.judges}</td>"
        f"<td><a href='moderate.ipynb'>Moderate {html.escape(r.reference)}</a></td></tr>"
        for r in table.itertuples())
    return ("<table><caption>Where the judges disagree most (widest range on any question)</caption><thead><tr>"
            "<th scope='col'>Nomination</th><th scope='col'>Question</th><th scope='col'>Range</th>"
            "<th scope='col'>SD</th><th scope='col'>Judges</th><th scope='col'>Action</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


class AgreementDashboard(widgets.VBox):
    """Reliability, heatmaps, judge distributions and disagreements for one round."""

    def __init__(self, *, url: str | None = None, round_name: str | None = None):
        self.url, self.round_name = url, round_name
        self.alert = Alert()
        self.reliability = widgets.HTML()
        self.judges = widgets.HTML()
        self.disagreements = widgets.HTML()
        self.criterion = widgets.Dropdown(description="Question", options=[],
                                          style={"description_width": "initial"})
        self.heatmap = widgets.HTML()
        self.distribution = widgets.HTML()
        self.criterion.observe(lambda _: self.draw(), names="value")
        self.scores = pd.DataFrame()
        self.titles: dict[str, str] = {}
        self.scale = (0, 5)
        super().__init__([
            self.alert, self.reliability,
            widgets.HTML("<h2>Judges</h2>"), self.judges,
            widgets.HTML("<h2>Scores by judge</h2>"), self.criterion, self.heatmap, self.distribution,
            widgets.HTML("<h2>Disagreements</h2>"), self.disagreements,
        ])
        self.load()

    @reports_errors()
    def load(self) -> None:
        with session_scope(self.url) as s:
            data = dashboard_data(s, round_=get_round(s, self.round_name))
        rubric, self.scores = data["rubric"], data["scores"]
        self.titles = {c.id: c.title for c in rubric.criteria}
        scale = rubric.criteria[0].scale
        self.scale = (scale.min, scale.max)
        self.reliability.value = reliability_html(data["agreement"])
        self.judges.value = judges_html(data["diagnostics"])
        self.disagreements.value = disagreements_html(data["disagreements"])
        self.criterion.options = [(f"{c}: {t}", c) for c, t in self.titles.items()]
        self.criterion.value = rubric.criteria[0].id
        self.draw()

    @reports_errors()
    def draw(self) -> None:
        criterion = self.criterion.value
        if criterion is None or self.scores.empty:
            return
        title = self.titles[criterion]
        self.heatmap.value = figure_html(
            heatmap_figure(self.scores, criterion=criterion, title=title, scale=self.scale),
            f"Heatmap of {criterion} scores: one row per judge, one column per nomination.")
        self.distribution.value = figure_html(
            distribution_figure(self.scores, criterion=criterion, title=f"{criterion}: {title}", scale=self.scale),
            f"Box plots of each judge's {criterion} scores.")
